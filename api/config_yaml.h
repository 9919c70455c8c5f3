/* SPDX-License-Identifier: Apache-2.0
 * config_yaml.h - the loaded configuration as /api/v1/status/config shows
 * it: Prometheus 2.42's Config.String(), i.e. yaml.v2's rendering of the
 * config structs with every default filled in, secrets as <secret>, URL
 * passwords as xxxxx, keys in Prometheus's struct order and maps sorted.
 *
 * Invariant: the text is produced by libyaml's emitter (yaml.v2 is a port
 * of it, so line folding and quoting agree) with yaml.v2's scalar choice:
 * a string that would read back as another type (true, 1, null, "", a
 * date) is double-quoted, everything else is requested plain.
 * Not rendered (tinyprom parses but does not keep them): oauth2, sigv4,
 * and the storage and tracing sections. */
#ifndef API_CONFIG_YAML_H
#define API_CONFIG_YAML_H

#include "config/config.h"
#include "lib/strbuf.h"

/* Appends cfg as YAML to out. */
void api_config_yaml(const config *cfg, tp_strbuf *out);

#endif
