/* SPDX-License-Identifier: Apache-2.0 */
/* http.h - the functions of http.c (split from server.h) */
#ifndef EDGE_HTTP_H
#define EDGE_HTTP_H

#include "edge/server.h"

void edge_http__register(h2o_globalconf_t *conf, edge_server__app_t *app,
                         edge_server__hosts_t *hosts);

#endif
