/* SPDX-License-Identifier: Apache-2.0
 * chunkfile.c - the chunk files of the head (chunkfile.h): open and scan
 * with repair, append through the current file's shared mapping, sync,
 * lock-free reads, removal by retention.
 *
 * Invariants:
 * - cf->mu guards the file list, the write position and the statistics;
 *   cf->sync_mu serialises sync against removal, so a mapping being
 *   msync'ed is never unmapped under it.
 * - The last file of the list is the one being written (cur_open); its
 *   bytes [0, size) are records, [size, alloc) are reserved zeros, and
 *   nothing beyond alloc is ever touched (it lies past the end of file).
 * - base[] (file number -> mapping) is written under cf->mu and read
 *   without a lock; an entry is set before any chunk of its file is handed
 *   out and cleared only by removal.
 * Layout (ORDER CHUNKFILE_FORMAT, see tsdb/README.md):
 *   file:   "TPCF" | u8 version 1 | 3 zero bytes | records...
 *   record: uvarint ref (>= 1) | varint mint | uvarint maxt - mint |
 *           u8 encoding (1) | uvarint len | len bytes of chunk |
 *           u32 LE CRC-32C of everything from ref to the end of the chunk */
#include "config.h"
#include "tsdb/chunkfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/crc32c.h"
#include "tsdb/killpoint.h"

/* ORDER CHUNKFILE_FORMAT */
#define CF_MAGIC "TPCF"
#define CF_VERSION 1
#define CF_HEADER 8
#define CF_ENC_TINYPROM 1
#define CF_REC_MAX_HDR (5 + 10 + 10 + 1 + 5)
#define CF_MAX_CHUNK (16u << 20)       /* a larger length in a record is damage */
#define CF_NAME_LEN 6
#define CF_RESERVE_STEP (1u << 20)     /* posix_fallocate granularity */
#define CF_FILE_BYTES_MAX (1u << 30)   /* offsets are 32-bit */

#define SEG_BASE_LOG2 6
#define NSEGS 26                       /* covers every uint32 file number */

typedef struct cfile {
	uint32_t seq;
	uint8_t *map;          /* mapping of the file */
	size_t map_len;
	uint64_t size;         /* header + records */
	uint64_t alloc;        /* reserved (the file's length), current file only */
	int64_t maxt;          /* newest chunk maxt, INT64_MIN when none */
	uint64_t nchunks;
	int fd;                /* the current file only; -1 otherwise */
} cfile;

struct tsdb_chunkfiles {
	char *dir;
	tsdb_chunkfiles_opts o;
	pthread_mutex_t mu;
	pthread_mutex_t sync_mu;
	cfile *files;          /* sorted by seq */
	size_t nfiles, capfiles;
	bool cur_open;         /* files[nfiles-1] is being written */
	uint32_t next_seq;
	uint8_t **base[NSEGS]; /* file number -> mapping; segments never move */
	tsdb_chunk_pos synced; /* records before this are durable */
	bool dir_dirty;        /* files created since the last sync */
	tsdb_chunkfiles_stats st;
	char last_err[256];
	/* open's index: chunks per series ref, until take_done */
	uint32_t *cnt, *fill;
	tsdb_chunk_meta **loaded;
	size_t nref;           /* entries in cnt/fill/loaded (max ref + 1) */
	uint32_t max_ref;
};

/* ---- small helpers ---- */

static size_t put_uvarint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Returns bytes consumed, 0 when truncated or longer than 10 bytes. */
static size_t get_uvarint(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	for (size_t i = 0; i < n && i < 10; i++) {
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t page_size(void)
{
	static size_t ps;
	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

static size_t round_page(size_t n)
{
	size_t ps = page_size();
	return (n + ps - 1) / ps * ps;
}

static void file_path(char *buf, size_t len, const char *dir, uint32_t seq)
{
	snprintf(buf, len, "%s/%06u", dir, seq);
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

TP_PRINTF(2, 3) static void problem(tsdb_chunkfiles *cf, const char *fmt, ...)
{
	char *s = cf->st.problems;
	size_t used = strlen(s), cap = sizeof(cf->st.problems);
	if (used + 4 >= cap)
		return;
	if (used) {
		memcpy(s + used, "; ", 3);
		used += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s + used, cap - used, fmt, ap);
	va_end(ap);
}

TP_PRINTF(2, 3) static void set_err(tsdb_chunkfiles *cf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cf->last_err, sizeof(cf->last_err), fmt, ap);
	va_end(ap);
}

/* ---- file number -> mapping ---- */

static void seq_pos(uint32_t seq, unsigned *sg, size_t *off)
{
	uint64_t x = (uint64_t)seq + (1u << SEG_BASE_LOG2);
	unsigned hb = 63 - (unsigned)__builtin_clzll(x);
	*sg = hb - SEG_BASE_LOG2;
	*off = x - (1ULL << hb);
}

/* Caller holds mu (or is open). */
static void base_set(tsdb_chunkfiles *cf, uint32_t seq, uint8_t *map)
{
	unsigned sg;
	size_t off;
	seq_pos(seq, &sg, &off);
	uint8_t **s = cf->base[sg];
	if (!s) {
		s = tp_xcalloc((size_t)1 << (sg + SEG_BASE_LOG2), sizeof(*s));
		__atomic_store_n(&cf->base[sg], s, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&s[off], map, __ATOMIC_RELEASE);
}

const uint8_t *tsdb_chunkfiles_data(const tsdb_chunkfiles *cf, uint32_t file, uint32_t off)
{
	unsigned sg;
	size_t o;
	seq_pos(file, &sg, &o);
	uint8_t **s = __atomic_load_n(&cf->base[sg], __ATOMIC_ACQUIRE);
	uint8_t *m = s ? __atomic_load_n(&s[o], __ATOMIC_ACQUIRE) : NULL;
	return m ? m + off : NULL;
}

/* ---- record codec ---- */

typedef struct rec {
	uint32_t ref;
	int64_t mint, maxt;
	uint32_t len;
	uint64_t data_off;     /* offset of the chunk bytes in the file */
	uint64_t end;          /* offset after the CRC */
	uint16_t nsamples;
} rec;

enum { REC_OK, REC_END, REC_TORN, REC_BAD };

/* Parses the record at off of a file of size bytes at m. REC_END: a zero
 * byte (nothing written here yet). REC_TORN: the record runs past the end
 * of the file. REC_BAD: a malformed header or a CRC mismatch. why is set
 * for TORN and BAD. */
static int rec_parse(const uint8_t *m, uint64_t size, uint64_t off, bool check_crc, rec *r, const char **why)
{
	const uint8_t *p = m + off;
	r->end = off + 1;
	size_t n = (size_t)(size - off), k = 0, c;
	uint64_t ref, zmint, delta, len;
	if (p[0] == 0)
		return REC_END;
	*why = "partial record header";
	if (!(c = get_uvarint(p, n, &ref)))
		return n < 10 ? REC_TORN : REC_BAD;
	k += c;
	if (!(c = get_uvarint(p + k, n - k, &zmint)))
		return n - k < 10 ? REC_TORN : REC_BAD;
	k += c;
	if (!(c = get_uvarint(p + k, n - k, &delta)))
		return n - k < 10 ? REC_TORN : REC_BAD;
	k += c;
	if (k >= n)
		return REC_TORN;
	uint8_t enc = p[k++];
	if (!(c = get_uvarint(p + k, n - k, &len)))
		return n - k < 5 ? REC_TORN : REC_BAD;
	k += c;
	r->end = off + k + len + 4 < off ? UINT64_MAX : off + k + len + 4;
	*why = "malformed record header";
	if (ref == 0 || ref > UINT32_MAX || enc != CF_ENC_TINYPROM || len < 2 || len > CF_MAX_CHUNK)
		return REC_BAD;
	int64_t mint = (int64_t)((zmint >> 1) ^ (~(zmint & 1) + 1));
	if (delta > (uint64_t)INT64_MAX - (uint64_t)(mint < 0 ? 0 : mint))
		return REC_BAD;
	if (k + len + 4 > n) {
		*why = "partial record";
		return REC_TORN;
	}
	if (check_crc && tp_crc32c(p, k + len) != get_le32(p + k + len)) {
		*why = "CRC mismatch";
		return REC_BAD;
	}
	uint16_t ns = (uint16_t)((p[k] << 8 | p[k + 1]) & 0x7fff);
	if (ns == 0) {
		*why = "chunk without samples";
		return REC_BAD;
	}
	r->ref = (uint32_t)ref;
	r->mint = mint;
	r->maxt = (int64_t)((uint64_t)mint + delta);
	r->len = (uint32_t)len;
	r->data_off = off + k;
	r->end = off + k + len + 4;
	r->nsamples = ns;
	return REC_OK;
}

/* ---- open ---- */

static void free_all(tsdb_chunkfiles *cf);

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Sorted file numbers in dir (names of exactly 6 digits); -1 with errno. */
static long list_files(const char *dir, uint32_t **out)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	uint32_t *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *s = e->d_name;
		size_t l = strlen(s);
		bool digits = l == CF_NAME_LEN;
		for (size_t i = 0; digits && i < l; i++)
			digits = s[i] >= '0' && s[i] <= '9';
		unsigned long x = digits ? strtoul(s, NULL, 10) : 0;
		if (!x)
			continue;
		TP_GROW(v, cap, n + 1);
		v[n++] = (uint32_t)x;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_u32);
	*out = v;
	return (long)n;
}

static void count_ref(tsdb_chunkfiles *cf, uint32_t ref)
{
	if (ref >= cf->nref) {
		size_t old = cf->nref, cap = cf->nref;
		TP_GROW(cf->cnt, cap, (size_t)ref + 1);
		memset(cf->cnt + old, 0, (cap - old) * sizeof(*cf->cnt));
		cf->nref = cap;
	}
	cf->cnt[ref]++;
	if (ref > cf->max_ref)
		cf->max_ref = ref;
}

/* Pass 1 over one file: validates every record, counts chunks per ref,
 * repairs damage by truncating the file at the first bad record. last:
 * the newest file (where a partial record is a torn tail, not damage).
 * Fills f. Returns 0, or -1 with err on an I/O error. */
static int scan_file(tsdb_chunkfiles *cf, uint32_t seq, bool last, cfile *f, char *err, size_t errlen)
{
	char path[4096];
	file_path(path, sizeof(path), cf->dir, seq);
	memset(f, 0, sizeof(*f));
	f->seq = seq;
	f->fd = -1;
	f->maxt = INT64_MIN;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "open chunk file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	uint64_t size = (uint64_t)sb.st_size;
	uint8_t *m = NULL;
	if (size > 0) {
		m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			snprintf(err, errlen, "mmap chunk file %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
	}
	uint64_t off = 0, bad = UINT64_MAX;
	const char *why = NULL;
	bool torn = false;
	if (size < CF_HEADER || memcmp(m, CF_MAGIC, 4) != 0 || m[4] != CF_VERSION) {
		/* a crash right after creating the file leaves it short or zero */
		bad = 0;
		torn = size < CF_HEADER || all_zero(m, (size_t)size);
		why = torn ? "file header not written" : "bad file header";
	} else {
		off = CF_HEADER;
		while (off < size) {
			rec r;
			int k = rec_parse(m, size, off, true, &r, &why);
			if (k == REC_END) {
				if (!all_zero(m + off, (size_t)(size - off))) {
					bad = off;
					why = "non-zero bytes after the end of the data";
				}
				break;
			}
			if (k != REC_OK) {
				bad = off;
				/* a write cut short: partial, or only zeros after what
				 * the record's header claims */
				torn = last && (k == REC_TORN ||
						 (r.end < size && all_zero(m + r.end, (size_t)(size - r.end))));
				break;
			}
			count_ref(cf, r.ref);
			f->nchunks++;
			if (r.maxt > f->maxt)
				f->maxt = r.maxt;
			off = r.end;
		}
	}
	uint64_t end = bad == UINT64_MAX ? off : bad;
	if (bad != UINT64_MAX) {
		/* what was written: the reserved zeros after it are no loss */
		uint64_t used = size;
		while (used > bad && m[used - 1] == 0)
			used--;
		uint64_t dropped = used - bad;
		cf->st.truncated_bytes += dropped;
		if (torn) {
			cf->st.torn_tails++;
			problem(cf, "%s: torn tail (%s) at offset %llu; truncated %llu bytes", path, why,
				(unsigned long long)bad, (unsigned long long)dropped);
		} else {
			cf->st.corruptions++;
			problem(cf, "%s: %s at offset %llu; truncated there, %llu bytes dropped", path, why,
				(unsigned long long)bad, (unsigned long long)dropped);
		}
	}
	if (m)
		munmap(m, (size_t)size);
	if (end < size && ftruncate(fd, (off_t)end) != 0) {
		snprintf(err, errlen, "truncate chunk file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (end < CF_HEADER) {
		/* nothing readable: give it a fresh header so numbering stays contiguous */
		uint8_t h[CF_HEADER] = { 'T', 'P', 'C', 'F', CF_VERSION, 0, 0, 0 };
		if (pwrite(fd, h, CF_HEADER, 0) != CF_HEADER) {
			snprintf(err, errlen, "rewrite chunk file %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		end = CF_HEADER;
	}
	f->size = end;
	f->fd = fd;
	return 0;
}

/* Creates file seq holding only a header, in place of a missing one. */
static int placeholder(tsdb_chunkfiles *cf, uint32_t seq, cfile *f, char *err, size_t errlen)
{
	char path[4096];
	file_path(path, sizeof(path), cf->dir, seq);
	uint8_t h[CF_HEADER] = { 'T', 'P', 'C', 'F', CF_VERSION, 0, 0, 0 };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || pwrite(fd, h, CF_HEADER, 0) != CF_HEADER) {
		snprintf(err, errlen, "create chunk file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(f, 0, sizeof(*f));
	f->seq = seq;
	f->fd = fd;
	f->size = CF_HEADER;
	f->maxt = INT64_MIN;
	cf->dir_dirty = true;
	return 0;
}

/* Pass 2 over a scanned file: records the chunks of every record up to
 * f->size into the per-ref arrays (no CRC: pass 1 checked them). */
static void index_file(tsdb_chunkfiles *cf, const cfile *f, const uint8_t *m)
{
	uint64_t off = CF_HEADER;
	while (off < f->size) {
		rec r;
		const char *why;
		if (rec_parse(m, f->size, off, false, &r, &why) != REC_OK)
			break; /* cannot happen: pass 1 truncated the file here */
		tsdb_chunk_meta *a = cf->loaded[r.ref];
		if (!a)
			a = cf->loaded[r.ref] = tp_xmalloc(cf->cnt[r.ref] * sizeof(*a));
		tsdb_chunk_meta *c = &a[cf->fill[r.ref]++];
		c->mint = r.mint;
		c->maxt = r.maxt;
		c->at.disk.file = f->seq;
		c->at.disk.off = (uint32_t)r.data_off;
		c->len = r.len;
		c->nsamples = r.nsamples;
		c->on_disk = 1;
		cf->st.chunks_loaded++;
		off = r.end;
	}
}

/* Maps f: read-only at its size, or, for the file being written, read-write
 * over map_len bytes (beyond its end of file: never touched until reserved). */
static int map_file(tsdb_chunkfiles *cf, cfile *f, bool writable, char *err, size_t errlen)
{
	f->map_len = writable ? round_page(TP_MAX(cf->o.file_bytes, f->size)) : (size_t)f->size;
	f->map = mmap(NULL, f->map_len, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, f->fd, 0);
	if (f->map == MAP_FAILED) {
		f->map = NULL;
		snprintf(err, errlen, "mmap chunk file %s/%06u: %s", cf->dir, f->seq, strerror(errno));
		return -1;
	}
	f->alloc = f->size;
	return 0;
}

tsdb_chunkfiles *tsdb_chunkfiles_open(const char *dir, const tsdb_chunkfiles_opts *o, char *err, size_t errlen)
{
	tsdb_chunkfiles *cf = tp_xcalloc(1, sizeof(*cf));
	uint32_t *seqs = NULL;
	cf->dir = tp_xstrdup(dir);
	if (o)
		cf->o = *o;
	if (!cf->o.file_bytes)
		cf->o.file_bytes = TSDB_CHUNKFILE_BYTES_DEFAULT;
	cf->o.file_bytes = TP_MIN(TP_MAX(cf->o.file_bytes, TSDB_CHUNKFILE_BYTES_MIN), CF_FILE_BYTES_MAX);
	pthread_mutex_init(&cf->mu, NULL);
	pthread_mutex_init(&cf->sync_mu, NULL);
	cf->next_seq = 1;
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "create chunk directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	long n = list_files(dir, &seqs);
	if (n < 0) {
		snprintf(err, errlen, "read chunk directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	for (long i = 0; i < n; i++) {
		if (i > 0 && seqs[i] != seqs[i - 1] + 1) {
			uint32_t gap = seqs[i] - seqs[i - 1] - 1;
			cf->st.missing_files += gap;
			cf->st.corruptions += gap;
			if (gap == 1)
				problem(cf, "%s/%06u: chunk file missing; its chunks are lost", dir, seqs[i - 1] + 1);
			else
				problem(cf, "%s/%06u to %06u: chunk files missing; their chunks are lost", dir,
					seqs[i - 1] + 1, seqs[i] - 1);
			/* repaired with empty files, so the next open finds no gap */
			for (uint32_t q = seqs[i - 1] + 1; q < seqs[i]; q++) {
				TP_GROW(cf->files, cf->capfiles, cf->nfiles + 1);
				if (placeholder(cf, q, &cf->files[cf->nfiles], err, errlen) != 0)
					goto fail;
				cf->nfiles++;
			}
		}
		TP_GROW(cf->files, cf->capfiles, cf->nfiles + 1);
		if (scan_file(cf, seqs[i], i == n - 1, &cf->files[cf->nfiles], err, errlen) != 0)
			goto fail;
		cf->nfiles++;
	}
	if (n > 0)
		cf->next_seq = seqs[n - 1] + 1;
	free(seqs);
	seqs = NULL;
	/* map, index (pass 2), and keep writing in the last file */
	cf->fill = tp_xcalloc(cf->nref ? cf->nref : 1, sizeof(*cf->fill));
	cf->loaded = tp_xcalloc(cf->nref ? cf->nref : 1, sizeof(*cf->loaded));
	for (size_t i = 0; i < cf->nfiles; i++) {
		cfile *f = &cf->files[i];
		bool cur = i == cf->nfiles - 1;
		if (map_file(cf, f, cur, err, errlen) != 0)
			goto fail;
		if (!cur) {
			close(f->fd);
			f->fd = -1;
		}
		base_set(cf, f->seq, f->map);
		index_file(cf, f, f->map);
		cf->st.bytes += f->size;
	}
	cf->cur_open = cf->nfiles > 0;
	cf->st.files = cf->nfiles;
	/* synced stays at 0: after a kill -9 what the files hold may be only
	 * in the page cache, so the first sync covers all of it */
	return cf;
fail:
	free(seqs);
	free_all(cf);
	return NULL;
}

/* ---- chunks found by open ---- */

uint32_t tsdb_chunkfiles_max_ref(const tsdb_chunkfiles *cf)
{
	return cf->max_ref;
}

tsdb_chunk_meta *tsdb_chunkfiles_take(tsdb_chunkfiles *cf, uint32_t ref, uint32_t *n)
{
	*n = 0;
	if (!cf->loaded || ref >= cf->nref || !cf->loaded[ref])
		return NULL;
	tsdb_chunk_meta *a = cf->loaded[ref];
	*n = cf->fill[ref];
	cf->loaded[ref] = NULL;
	return a;
}

uint64_t tsdb_chunkfiles_take_done(tsdb_chunkfiles *cf)
{
	uint64_t left = 0;
	for (size_t r = 0; cf->loaded && r < cf->nref; r++) {
		if (cf->loaded[r]) {
			left += cf->fill[r];
			free(cf->loaded[r]);
		}
	}
	free(cf->loaded);
	free(cf->fill);
	free(cf->cnt);
	cf->loaded = NULL;
	cf->fill = cf->cnt = NULL;
	cf->nref = 0;
	return left;
}

/* ---- writing ---- */

/* Finishes the current file: trims the reservation, closes the fd, makes
 * the mapping read-only. Caller holds mu. */
static void finish_current(tsdb_chunkfiles *cf)
{
	if (!cf->cur_open)
		return;
	cfile *f = &cf->files[cf->nfiles - 1];
	if (f->alloc > f->size && ftruncate(f->fd, (off_t)f->size) == 0)
		f->alloc = f->size;
	mprotect(f->map, f->map_len, PROT_READ);
	close(f->fd);
	f->fd = -1;
	cf->cur_open = false;
}

/* Reserves the file's space up to at least want bytes. Caller holds mu. */
static int reserve(tsdb_chunkfiles *cf, cfile *f, uint64_t want)
{
	uint64_t to = TP_MIN((uint64_t)f->map_len, TP_MAX(want, f->alloc + CF_RESERVE_STEP));
	int e = posix_fallocate(f->fd, (off_t)f->alloc, (off_t)(to - f->alloc));
	if (e != 0) {
		set_err(cf, "reserve space in chunk file %s/%06u: %s", cf->dir, f->seq, strerror(e));
		return -1;
	}
	f->alloc = to;
	return 0;
}

/* Starts file next_seq, big enough for a record of need bytes. Caller
 * holds mu. */
static int cut(tsdb_chunkfiles *cf, uint64_t need)
{
	char path[4096];
	uint32_t seq = cf->next_seq;
	file_path(path, sizeof(path), cf->dir, seq);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		set_err(cf, "create chunk file %s: %s", path, strerror(errno));
		return -1;
	}
	cfile f = { .seq = seq, .fd = fd, .maxt = INT64_MIN, .size = CF_HEADER };
	f.map_len = round_page(TP_MAX(cf->o.file_bytes, CF_HEADER + need));
	f.map = mmap(NULL, f.map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (f.map == MAP_FAILED) {
		set_err(cf, "mmap chunk file %s: %s", path, strerror(errno));
		goto fail;
	}
	if (reserve(cf, &f, CF_HEADER + need) != 0)
		goto fail;
	memcpy(f.map, CF_MAGIC, 4);
	f.map[4] = CF_VERSION;
	finish_current(cf);
	TP_GROW(cf->files, cf->capfiles, cf->nfiles + 1);
	cf->files[cf->nfiles++] = f;
	cf->cur_open = true;
	cf->next_seq++;
	cf->dir_dirty = true;
	cf->st.files++;
	cf->st.bytes += CF_HEADER;
	base_set(cf, seq, f.map);
	return 0;
fail:
	if (f.map && f.map != MAP_FAILED)
		munmap(f.map, f.map_len);
	close(fd);
	unlink(path);
	return -1;
}

int tsdb_chunkfiles_write(tsdb_chunkfiles *cf, uint32_t ref, int64_t mint, int64_t maxt, const uint8_t *data,
			  uint32_t len, uint16_t nsamples, tsdb_chunk_meta *out)
{
	uint8_t h[CF_REC_MAX_HDR];
	size_t hl = put_uvarint(h, ref);
	hl += put_uvarint(h + hl, ((uint64_t)mint << 1) ^ (uint64_t)(mint >> 63));
	hl += put_uvarint(h + hl, (uint64_t)maxt - (uint64_t)mint);
	h[hl++] = CF_ENC_TINYPROM;
	hl += put_uvarint(h + hl, len);
	uint64_t need = hl + (uint64_t)len + 4;
	pthread_mutex_lock(&cf->mu);
	cfile *f = cf->cur_open ? &cf->files[cf->nfiles - 1] : NULL;
	if (!f || f->size + need > f->map_len || (f->size + need > cf->o.file_bytes && f->size > CF_HEADER)) {
		if (cut(cf, need) != 0)
			goto fail;
		f = &cf->files[cf->nfiles - 1];
	}
	if (f->size + need > f->alloc && reserve(cf, f, f->size + need) != 0)
		goto fail;
	uint8_t *p = f->map + f->size;
	memcpy(p, h, hl);
	uint32_t half = len / 2;
	memcpy(p + hl, data, half);
	tsdb_kill_point("chunk-write");
	memcpy(p + hl + half, data + half, len - half);
	uint32_t crc = tp_crc32c_update(tp_crc32c(h, hl), data, len);
	put_le32(p + hl + len, crc);
	out->mint = mint;
	out->maxt = maxt;
	out->at.disk.file = f->seq;
	out->at.disk.off = (uint32_t)(f->size + hl);
	out->len = len;
	out->nsamples = nsamples;
	out->on_disk = 1;
	f->size += need;
	f->nchunks++;
	if (maxt > f->maxt)
		f->maxt = maxt;
	cf->st.bytes += need;
	cf->st.chunks_written++;
	cf->st.bytes_written += need;
	pthread_mutex_unlock(&cf->mu);
	return 0;
fail:
	cf->st.write_failures++;
	pthread_mutex_unlock(&cf->mu);
	return -1;
}

tsdb_chunk_pos tsdb_chunkfiles_end(tsdb_chunkfiles *cf)
{
	pthread_mutex_lock(&cf->mu);
	tsdb_chunk_pos p = { 0, 0 };
	if (cf->nfiles)
		p = (tsdb_chunk_pos){ cf->files[cf->nfiles - 1].seq, (uint32_t)cf->files[cf->nfiles - 1].size };
	pthread_mutex_unlock(&cf->mu);
	return p;
}

/* ---- sync ---- */

typedef struct srange {
	uint8_t *p;
	size_t n;
} srange;

int tsdb_chunkfiles_sync(tsdb_chunkfiles *cf, tsdb_chunk_pos *upto)
{
	pthread_mutex_lock(&cf->sync_mu);
	pthread_mutex_lock(&cf->mu);
	tsdb_chunk_pos end = { 0, 0 };
	if (cf->nfiles)
		end = (tsdb_chunk_pos){ cf->files[cf->nfiles - 1].seq, (uint32_t)cf->files[cf->nfiles - 1].size };
	srange *rs = NULL;
	size_t nr = 0, cap = 0;
	for (size_t i = 0; i < cf->nfiles; i++) {
		cfile *f = &cf->files[i];
		if (f->seq < cf->synced.file)
			continue;
		size_t from = f->seq == cf->synced.file ? cf->synced.off : 0;
		if (from >= f->size)
			continue;
		from -= from % page_size();
		TP_GROW(rs, cap, nr + 1);
		rs[nr++] = (srange){ f->map + from, (size_t)f->size - from };
	}
	bool dir = cf->dir_dirty;
	cf->dir_dirty = false;
	pthread_mutex_unlock(&cf->mu);
	int rc = 0;
	char what[200] = "";
	for (size_t i = 0; i < nr && rc == 0; i++)
		if (msync(rs[i].p, rs[i].n, MS_SYNC) != 0) {
			snprintf(what, sizeof(what), "msync chunk file: %s", strerror(errno));
			rc = -1;
		}
	if (rc == 0 && dir && fsync_dir(cf->dir) != 0) {
		snprintf(what, sizeof(what), "fsync chunk directory %s: %s", cf->dir, strerror(errno));
		rc = -1;
	}
	free(rs);
	pthread_mutex_lock(&cf->mu);
	if (rc == 0) {
		cf->synced = end;
		cf->st.syncs++;
	} else {
		cf->dir_dirty |= dir;
		cf->st.write_failures++;
		set_err(cf, "%s", what);
	}
	*upto = cf->synced;
	pthread_mutex_unlock(&cf->mu);
	pthread_mutex_unlock(&cf->sync_mu);
	return rc;
}

/* ---- retention ---- */

/* Removes files[0..k) (never the current one). Caller holds sync_mu and mu. */
static void remove_first(tsdb_chunkfiles *cf, size_t k)
{
	char path[4096];
	for (size_t i = 0; i < k; i++) {
		cfile *f = &cf->files[i];
		base_set(cf, f->seq, NULL);
		munmap(f->map, f->map_len);
		file_path(path, sizeof(path), cf->dir, f->seq);
		unlink(path);
		cf->st.bytes -= f->size;
		cf->st.files--;
		cf->st.files_removed++;
	}
	if (k) {
		memmove(cf->files, cf->files + k, (cf->nfiles - k) * sizeof(*cf->files));
		cf->nfiles -= k;
	}
}

static size_t removable(const tsdb_chunkfiles *cf)
{
	return cf->cur_open ? cf->nfiles - 1 : cf->nfiles;
}

uint32_t tsdb_chunkfiles_remove_before(tsdb_chunkfiles *cf, int64_t mint_ms)
{
	pthread_mutex_lock(&cf->sync_mu);
	pthread_mutex_lock(&cf->mu);
	size_t k = 0, lim = removable(cf);
	while (k < lim && cf->files[k].maxt < mint_ms)
		k++;
	uint32_t last = k ? cf->files[k - 1].seq : 0;
	remove_first(cf, k);
	pthread_mutex_unlock(&cf->mu);
	pthread_mutex_unlock(&cf->sync_mu);
	return last;
}

uint32_t tsdb_chunkfiles_pick_oldest(tsdb_chunkfiles *cf, uint64_t excess, uint64_t *freed)
{
	pthread_mutex_lock(&cf->mu);
	uint64_t sum = 0;
	uint32_t upto = 0;
	for (size_t i = 0, lim = removable(cf); i < lim && sum < excess; i++) {
		sum += cf->files[i].size;
		upto = cf->files[i].seq;
	}
	pthread_mutex_unlock(&cf->mu);
	*freed = sum;
	return upto;
}

size_t tsdb_chunkfiles_remove_upto(tsdb_chunkfiles *cf, uint32_t upto)
{
	pthread_mutex_lock(&cf->sync_mu);
	pthread_mutex_lock(&cf->mu);
	size_t k = 0, lim = removable(cf);
	while (k < lim && cf->files[k].seq <= upto)
		k++;
	remove_first(cf, k);
	pthread_mutex_unlock(&cf->mu);
	pthread_mutex_unlock(&cf->sync_mu);
	return k;
}

/* ---- misc ---- */

void tsdb_chunkfiles_get_stats(tsdb_chunkfiles *cf, tsdb_chunkfiles_stats *out)
{
	pthread_mutex_lock(&cf->mu);
	*out = cf->st;
	pthread_mutex_unlock(&cf->mu);
}

void tsdb_chunkfiles_last_error(tsdb_chunkfiles *cf, char *buf, size_t len)
{
	pthread_mutex_lock(&cf->mu);
	snprintf(buf, len, "%s", cf->last_err);
	pthread_mutex_unlock(&cf->mu);
}

const char *tsdb_chunkfiles_dir(const tsdb_chunkfiles *cf)
{
	return cf->dir;
}

/* Unmaps and closes everything and frees cf (no sync). */
static void free_all(tsdb_chunkfiles *cf)
{
	for (size_t i = 0; i < cf->nfiles; i++) {
		cfile *f = &cf->files[i];
		if (f->map)
			munmap(f->map, f->map_len);
		if (f->fd >= 0)
			close(f->fd);
	}
	tsdb_chunkfiles_take_done(cf);
	for (int i = 0; i < NSEGS; i++)
		free(cf->base[i]);
	free(cf->files);
	pthread_mutex_destroy(&cf->mu);
	pthread_mutex_destroy(&cf->sync_mu);
	free(cf->dir);
	free(cf);
}

int tsdb_chunkfiles_close(tsdb_chunkfiles *cf)
{
	if (!cf)
		return 0;
	int rc = 0;
	tsdb_chunk_pos p;
	if (cf->nfiles && tsdb_chunkfiles_sync(cf, &p) != 0)
		rc = -1;
	pthread_mutex_lock(&cf->mu);
	finish_current(cf);
	pthread_mutex_unlock(&cf->mu);
	free_all(cf);
	return rc;
}
