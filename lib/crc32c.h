/* SPDX-License-Identifier: Apache-2.0
 * crc32c.h - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum Prometheus's WAL and index use, and iSCSI/ext4/btrfs.
 * Invariant: tp_crc32c_update(tp_crc32c_update(0, a), b) equals the CRC of
 * a followed by b, so records can be checksummed in pieces. The check
 * value of "123456789" is 0xE3069283. */
#ifndef LIB_CRC32C_H
#define LIB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC of p[0..n) continued from crc (0 to start). Thread-safe. */
uint32_t tp_crc32c_update(uint32_t crc, const void *p, size_t n);
static inline uint32_t tp_crc32c(const void *p, size_t n) { return tp_crc32c_update(0, p, n); }

#endif
