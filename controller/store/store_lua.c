/* SPDX-License-Identifier: Apache-2.0 */
/* store_lua.c - the Lua scripts that make each multi-key change of ctl_store atomic */
#include "controller/store/store_internal.h"

/* Every script checks all its preconditions before its first write, so a script that returns a
 * status other than 0 has changed nothing. The event is appended before the other writes because
 * XADD is the one write that can fail on data we do not control (a stream ahead of the counter). */

/* cp_event appends an event with the ID <revision+1>-0 and then increments the counter, so event
 * IDs are the revisions. cp_rev_of reads a record's revision: ours start with it; a seed record has
 * none (0). */
#define LUA_PRELUDE                                                                                \
    "local function cp_event(events, revkey, maxlen, ...)\n"                                       \
    "  local raw = redis.call('GET', revkey) or '0'\n"                                             \
    "  if not string.match(raw, '^%d+$') then return nil, 'revision counter is not a number' "     \
    "end\n"                                                                                        \
    "  local id = string.format('%d-0', tonumber(raw) + 1)\n"                                      \
    "  local x = redis.pcall('XADD', events, 'MAXLEN', '~', maxlen, id, ...)\n"                    \
    "  if type(x) == 'table' and x.err then return nil, 'events: ' .. x.err end\n"                 \
    "  return redis.call('INCR', revkey)\n"                                                        \
    "end\n"                                                                                        \
    "local function cp_rev_of(v)\n"                                                                \
    "  local r = string.match(v, '^{\"revision\":\"(%d+)\"')\n"                                    \
    "  if r then return tonumber(r) end\n"                                                         \
    "  local ok, o = pcall(cjson.decode, v)\n"                                                     \
    "  if ok and type(o) == 'table' and o.revision ~= nil then return tonumber(o.revision) or -1 " \
    "end\n"                                                                                        \
    "  return 0\n"                                                                                 \
    "end\n"                                                                                        \
    "local function cp_index(byexp, name, at)\n"                                                   \
    "  if at == '' then redis.call('ZREM', byexp, name)\n"                                         \
    "  else redis.call('ZADD', byexp, at, name) end\n"                                             \
    "end\n"

/* KEYS: cert:{name} certs certs:by_expiry events revision jobs
 * ARGV: name json mode(create|match|any) expected renew_at('' = none) job_kind('' = none) maxlen */
static const char lua_cert_put[] = LUA_PRELUDE
    "local ok, obj = pcall(cjson.decode, ARGV[2])\n"
    "if not ok or type(obj) ~= 'table' then return {4, 'not a JSON object'} end\n"
    "if obj.revision ~= nil then return {4, 'the JSON must not contain \"revision\"'} end\n"
    "if next(obj) == nil then return {4, 'the JSON object has no fields'} end\n"
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur and ARGV[3] == 'create' then return {1, 0} end\n"
    "if ARGV[3] == 'match' then\n"
    "  if not cur then return {2, 0} end\n"
    "  local r = cp_rev_of(cur)\n"
    "  if r ~= tonumber(ARGV[4]) then return {3, r} end\n"
    "end\n"
    "local rev, e = cp_event(KEYS[4], KEYS[5], ARGV[7], 'type', 'UPSERT', 'name', ARGV[1])\n"
    "if not rev then return {5, e} end\n"
    "redis.call('SET', KEYS[1], string.format('{\"revision\":\"%d\",', rev) .. "
    "string.sub(ARGV[2], 2))\n"
    "redis.call('ZADD', KEYS[2], 0, ARGV[1])\n"
    "cp_index(KEYS[3], ARGV[1], ARGV[5])\n"
    /* OCSP stapling (issue 14): a changed certificate is looked at again at once. */
    "redis.call('ZADD', 'ocsp:due', 0, ARGV[1])\n"
    "if ARGV[6] ~= '' then\n"
    "  redis.call('XADD', KEYS[6], '*', 'kind', ARGV[6], 'name', ARGV[1], 'revision', rev)\n"
    "end\n"
    "return {0, rev}\n";

/* KEYS: cert:{name} certs certs:by_expiry events revision   ARGV: name expected(0 = any) maxlen */
static const char lua_cert_delete[] = LUA_PRELUDE
    "local cur = redis.call('GET', KEYS[1])\n"
    "if not cur then return {2, 0} end\n"
    "local want = tonumber(ARGV[2])\n"
    "if want ~= 0 then\n"
    "  local r = cp_rev_of(cur)\n"
    "  if r ~= want then return {3, r} end\n"
    "end\n"
    "local rev, e = cp_event(KEYS[4], KEYS[5], ARGV[3], 'type', 'DELETE', 'name', ARGV[1])\n"
    "if not rev then return {5, e} end\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "redis.call('DEL', 'order:' .. ARGV[1])\n"
    /* OCSP stapling (issue 14) */
    "redis.call('DEL', 'ocsp:' .. ARGV[1])\n"
    "redis.call('ZREM', 'ocsp:due', ARGV[1])\n"
    "redis.call('ZREM', 'ocsp:held', ARGV[1])\n"
    "return {0, rev}\n";

/* KEYS: cert:{name} certs certs:by_expiry   ARGV: name renew_at('' = none) */
static const char lua_cert_index[] =
    LUA_PRELUDE "if redis.call('EXISTS', KEYS[1]) == 0 then return {2, 0} end\n"
                "redis.call('ZADD', KEYS[2], 0, ARGV[1])\n"
                "cp_index(KEYS[3], ARGV[1], ARGV[2])\n"
                "return {0, 0}\n";

/* KEYS: challenge:{token} events revision   ARGV: token key_authorization expires_at ttl maxlen.
 * The record is built field by field to keep the seed's key order. */
/* ARGV[6]: the identifier of a TLS-ALPN-01 challenge ("" for HTTP-01, the seed's only kind). */
static const char lua_challenge_set[] = LUA_PRELUDE
    "local f = {'type', 'CHALLENGE_SET', 'token', ARGV[1], 'key_authorization', "
    "ARGV[2], 'expires_at', ARGV[3]}\n"
    "local ident = ''\n"
    "if ARGV[6] ~= '' then\n"
    "  f[#f + 1] = 'identifier'; f[#f + 1] = ARGV[6]\n"
    "  ident = ',\"identifier\":' .. cjson.encode(ARGV[6])\n"
    "end\n"
    "local rev, e = cp_event(KEYS[2], KEYS[3], ARGV[5], unpack(f))\n"
    "if not rev then return {5, e} end\n"
    "redis.call('SET', KEYS[1], '{\"token\":' .. cjson.encode(ARGV[1]) .. "
    "',\"authorization\":' ..\n"
    "  cjson.encode(ARGV[2]) .. ',\"expires_at\":' .. cjson.encode(ARGV[3]) .. ident .. "
    "'}', 'EX', ARGV[4])\n"
    "return {0, rev}\n";

/* KEYS: challenge:{token} */
static const char lua_challenge_get[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then return {2, 0} end\n"
    "local ok, o = pcall(cjson.decode, v)\n"
    "if not ok or type(o) ~= 'table' or type(o.authorization) ~= 'string' then\n"
    "  return {5, 'not a challenge record'}\n"
    "end\n"
    "return {0, o.authorization}\n";

/* KEYS: challenge:{token} events revision   ARGV: token maxlen */
static const char lua_challenge_clear[] = LUA_PRELUDE
    "local rev, e = cp_event(KEYS[2], KEYS[3], ARGV[2], 'type', 'CHALLENGE_CLEAR', 'token', "
    "ARGV[1])\n"
    "if not rev then return {5, e} end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return {0, rev}\n";

/* KEYS: lock:cert:{name}   ARGV: token ttl_ms */
static const char lua_lock_extend[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {5, 'lock lost'} end\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "return {0, 1}\n";

/* KEYS: lock:cert:{name}   ARGV: token */
static const char lua_lock_release[] = "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {5, "
                                       "'lock not held with this token'} end\n"
                                       "redis.call('DEL', KEYS[1])\n"
                                       "return {0, 1}\n";

/* Whether the owner "<id>@<incarnation>" is alive: controller:{id} holds its incarnation. */
#define LUA_ALIVE                                                                                  \
    "local function cp_alive(id, inc)\n"                                                           \
    "  return redis.call('GET', 'controller:' .. id) == inc\n"                                     \
    "end\n"

/* KEYS: lock:cert:{name}   ARGV: token ttl_ms. Takes a free lock, or one whose owner (the token's
 * "<id>@<incarnation>|" prefix) is dead; {0, 1} taken, {0, 2} taken over, {1, 0} held. */
static const char lua_lock_acquire[] =
    LUA_ALIVE "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0, 1} end\n"
              "local cur = redis.call('GET', KEYS[1])\n"
              "local id, inc = string.match(cur or '', '^(.+)@(%x+)|%x+$')\n"
              "if id and not cp_alive(id, inc) then\n"
              "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
              "  return {0, 2}\n"
              "end\n"
              "return {1, 0}\n";

/* KEYS: jobs   ARGV: group claimer. Scans up to 2,000 pending entries and claims the first job of a
 * consumer
 * "<id>/<worker>@<incarnation>" whose owner is dead: {0, entry, deliveries} or {2, 0}. An entry
 * deleted meanwhile is acknowledged away. */
static const char lua_job_reclaim_dead[] =
    LUA_ALIVE "local alive, start = {}, '-'\n"
              "for page = 1, 20 do\n"
              "local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], start, '+', 100)\n"
              "if type(p) == 'table' and p.err then return {5, p.err} end\n"
              "if #p == 0 then break end\n"
              "start = '(' .. p[#p][1]\n"
              "for _, e in ipairs(p) do\n"
              "  local id, inc = string.match(e[2], '^(.+)/[^/]*@(%x+)$')\n"
              "  if id then\n"
              "    local who = id .. '@' .. inc\n"
              "    if alive[who] == nil then alive[who] = cp_alive(id, inc) end\n"
              "    if not alive[who] then\n"
              "      local r = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, e[1])\n"
              "      if type(r[1]) == 'table' and type(r[1][2]) == 'table' then\n"
              "        return {0, r[1], e[4] + 1}\n"
              "      end\n"
              "      redis.call('XACK', KEYS[1], ARGV[1], e[1])\n"
              "    end\n"
              "  end\n"
              "end\n"
              "end\n"
              "return {2, 0}\n";

/* KEYS: controller:{id}   ARGV: incarnation */
static const char lua_presence_clear[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
    "return {0, 0}\n";
/* KEYS: account:{provider}:{email}   ARGV: expected new. Replaces the value only when it is still
 * the one read (key rotation next to a concurrent account write). */
static const char lua_value_cas[] = "local cur = redis.call('GET', KEYS[1])\n"
                                    "if not cur then return {2, 0} end\n"
                                    "if cur ~= ARGV[1] then return {3, 0} end\n"
                                    "redis.call('SET', KEYS[1], ARGV[2])\n"
                                    "return {0, 1}\n";

/* KEYS: tls:ticket_keys, events, revision. ARGV: the value read ("" for none), the new value,
 * events MAXLEN. {0, rev}: written; {3, 0}: changed meanwhile. */
static const char lua_tickets_swap[] =
    LUA_PRELUDE "local cur = redis.call('GET', KEYS[1]) or ''\n"
                "if cur ~= ARGV[1] then return {3, 0} end\n"
                "local rev, e = cp_event(KEYS[2], KEYS[3], ARGV[3], 'type', 'TICKET_KEYS')\n"
                "if not rev then return {5, e} end\n"
                "redis.call('SET', KEYS[1], ARGV[2])\n"
                "return {0, rev}\n";

/* --- OCSP stapling (issue 14, store_ocsp.h) --- */
/* KEYS: ocsp:due   ARGV: name now lease. {0, 1}: claimed; {3, 0}: not due; {2, 0}: not scheduled.
 */
static const char lua_ocsp_claim[] = "local s = redis.call('ZSCORE', KEYS[1], ARGV[1])\n"
                                     "if not s then return {2, 0} end\n"
                                     "if tonumber(s) > tonumber(ARGV[2]) then return {3, 0} end\n"
                                     "redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])\n"
                                     "return {0, 1}\n";

/* The schedule moves to due only while the claim holds (cert_put resets it to 0). */
#define LUA_OCSP_DUE                                                                               \
    "local function cp_ocsp_due(due, name, at, lease)\n"                                           \
    "  local s = redis.call('ZSCORE', due, name)\n"                                                \
    "  if s and tonumber(s) == tonumber(lease) then redis.call('ZADD', due, at, name) end\n"       \
    "end\n"

/* KEYS: ocsp:{name} ocsp:due events revision cert:{name}
 * ARGV: name der leaf this next due maxlen lease. {0, rev}: stored; {1, 0}: the stored response is
 * for the same leaf and newer (kept); {2, 0}: the certificate is gone. */
static const char lua_ocsp_put[] = LUA_PRELUDE LUA_OCSP_DUE
    "if redis.call('EXISTS', KEYS[5]) == 0 then return {2, 0} end\n"
    "local cur = redis.call('HMGET', KEYS[1], 'leaf', 'this')\n"
    "if cur[1] == ARGV[3] and cur[2] and tonumber(cur[2]) > tonumber(ARGV[4]) then\n"
    "  cp_ocsp_due(KEYS[2], ARGV[1], ARGV[6], ARGV[8])\n"
    "  return {1, 0}\n"
    "end\n"
    "local rev, e = cp_event(KEYS[3], KEYS[4], ARGV[7], 'type', 'OCSP_RESPONSE', 'name', ARGV[1])\n"
    "if not rev then return {5, e} end\n"
    "redis.call('HSET', KEYS[1], 'der', ARGV[2], 'leaf', ARGV[3], 'this', ARGV[4], 'next', "
    "ARGV[5], 'fails', '0')\n"
    "redis.call('ZADD', 'ocsp:held', ARGV[5], ARGV[1])\n"
    "cp_ocsp_due(KEYS[2], ARGV[1], ARGV[6], ARGV[8])\n"
    "return {0, rev}\n";

/* KEYS: ocsp:{name} ocsp:due   ARGV: name due lease fails (< 0: unchanged). */
static const char lua_ocsp_reschedule[] = LUA_OCSP_DUE
    "local s = redis.call('ZSCORE', KEYS[2], ARGV[1])\n"
    "if not s or tonumber(s) ~= tonumber(ARGV[3]) then return {0, 0} end\n"
    "if tonumber(ARGV[4]) >= 0 then redis.call('HSET', KEYS[1], 'fails', ARGV[4]) end\n"
    "cp_ocsp_due(KEYS[2], ARGV[1], ARGV[2], ARGV[3])\n"
    "return {0, 1}\n";
/* --- end OCSP stapling --- */

const char *const ctl_store__lua[CTL_STORE__LUA_COUNT] = {
    [CTL_STORE__LUA_CERT_PUT] = lua_cert_put,
    [CTL_STORE__LUA_CERT_DELETE] = lua_cert_delete,
    [CTL_STORE__LUA_CERT_INDEX] = lua_cert_index,
    [CTL_STORE__LUA_CHALLENGE_SET] = lua_challenge_set,
    [CTL_STORE__LUA_CHALLENGE_GET] = lua_challenge_get,
    [CTL_STORE__LUA_CHALLENGE_CLEAR] = lua_challenge_clear,
    [CTL_STORE__LUA_LOCK_EXTEND] = lua_lock_extend,
    [CTL_STORE__LUA_LOCK_RELEASE] = lua_lock_release,
    [CTL_STORE__LUA_LOCK_ACQUIRE] = lua_lock_acquire,
    [CTL_STORE__LUA_JOB_RECLAIM_DEAD] = lua_job_reclaim_dead,
    [CTL_STORE__LUA_PRESENCE_CLEAR] = lua_presence_clear,
    [CTL_STORE__LUA_VALUE_CAS] = lua_value_cas,
    [CTL_STORE__LUA_TICKETS_SWAP] = lua_tickets_swap,
    [CTL_STORE__LUA_OCSP_CLAIM] = lua_ocsp_claim,
    [CTL_STORE__LUA_OCSP_PUT] = lua_ocsp_put,
    [CTL_STORE__LUA_OCSP_RESCHEDULE] = lua_ocsp_reschedule,
};
