/* SPDX-License-Identifier: Apache-2.0
 * web.h - the non-API pages: /metrics, /-/healthy, /-/ready, /-/quit and /. */
#ifndef API_WEB_H
#define API_WEB_H

#include "api/http.h"

void api_web_metrics(api_server *s, api_request *req, api_response *resp);
void api_web_healthy(api_server *s, api_request *req, api_response *resp);
void api_web_ready(api_server *s, api_request *req, api_response *resp);
void api_web_quit(api_server *s, api_request *req, api_response *resp);
void api_web_root(api_server *s, api_request *req, api_response *resp);

#endif
