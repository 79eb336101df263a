# SPDX-License-Identifier: Apache-2.0
# table.jq - the markdown tables of docs/benchmarks.md from one bench/results/<date>.json

# All runs of one server and scenario, summed (the paired runs come in several rounds); null when
# there were none. PSS is the last run's.
def r($s; $sc):
  [.records[] | select(.server == $s and .scenario == $sc)] as $x |
  if ($x | length) == 0 then null
  else ($x | last) + {
    ok: ($x | map(.ok // 0) | add), errors: ($x | map(.errors // 0) | add),
    elapsed_s: ($x | map(.elapsed_s // 0) | add), server_cpu_s: ($x | map(.server_cpu_s // 0) | add)}
    | . + {rate: (if .elapsed_s > 0 then .ok / .elapsed_s else null end),
           server_cpu_us_per_op: (if .ok > 0 then .server_cpu_s * 1e6 / .ok else null end)}
  end;
# A run that completed nothing counts as missing (its errors still show).
def ok($x): if $x != null and ($x.ok // 1) > 0 then $x else null end;
def n($x; $d): if $x == null then "–" else ($x * pow(10; $d) | round / pow(10; $d) | tostring) end;
def servers: [.records[].server] | unique
  | sort_by(if . == "edge" then 0 elif . == "nginx" then 1 else 2 end);

. as $doc |
"Measured \(.date) on \(.host.cpu), \(.host.nproc) cores (load average \(.host.loadavg_end) at the end); " +
"\(.versions.nginx | sub("nginx version: "; "")), \(.versions.haproxy | split(" - ")[0]), " +
"\(.versions.openssl | split(" (")[0]), edge build \(.versions.edge_build // "?"); " +
"\(.params.workers) workers, \(.params.conc) client connections over \(.params.client_threads) " +
"client threads, \(.params.duration_s) s per run. CPU = the server's user+sys from /proc.\n",
"| server | ECDSA P-256 handshakes/s | CPU µs/handshake | RSA 2048 handshakes/s | CPU µs/handshake | keep-alive req/s | CPU µs/request | proxied keep-alive req/s | CPU µs/request | PSS MiB | errors |",
"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
(servers[] as $s | $doc |
  r($s; "handshake-ec") as $e | r($s; "handshake-rsa") as $r | r($s; "keepalive-ec") as $k |
  r($s; "keepalive-proxy-ec") as $p |
  select($e != null or $r != null) |
  "| \($s) | \(n(ok($e).rate; 0)) | \(n(ok($e).server_cpu_us_per_op; 1)) | " +
  "\(n(ok($r).rate; 0)) | \(n(ok($r).server_cpu_us_per_op; 1)) | " +
  "\(n(ok($k).rate; 0)) | \(n(ok($k).server_cpu_us_per_op; 2)) | " +
  "\(n(ok($p).rate; 0)) | \(n(ok($p).server_cpu_us_per_op; 2)) | \(n($e.pss_kb / 1024; 1)) | " +
  "\(([$e, $r, $k, $p] | map(select(. != null) | .errors) | add) // "–") |"),
"",
"| server | certificates | ready s | all served | PSS 1 cert MiB | PSS N certs MiB | KiB/certificate | CPU µs/handshake, 1 cert | CPU µs/handshake, N certs, random SNI | change | errors |",
"|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
(servers[] as $s | $doc |
  r($s; "verify-all") as $v |
  (r($s; "handshake-ec-1cert-paired") // r($s; "handshake-ec")) as $one |
  r($s; "handshake-ec-random-sni") as $m | r($s; "ready") as $rd |
  select($m != null or $rd != null) |
  "| \($s) | \($rd.certs // $m.certs) | \(n($rd.ready_s; 3))" +
  "\(if $rd.readyz_s != null then " (/readyz \(n($rd.readyz_s; 3)); import \(n($rd.import_s; 1)))" else "" end) | " +
  "\(if $v == null then "–" elif $v.ok == $v.certs and $v.errors == 0 then "yes" else "no: \($v.ok) ok, \($v.errors) errors" end) | " +
  "\(n($one.pss_kb / 1024; 1)) | " +
  "\(n($m.pss_kb / 1024; 1)) | " +
  "\(if $m != null and $one != null then n(($m.pss_kb - $one.pss_kb) / $m.certs; 2) else "–" end) | " +
  "\(n(ok($one).server_cpu_us_per_op; 1)) | \(n(ok($m).server_cpu_us_per_op; 1)) | " +
  "\(if ok($m) != null and ok($one) != null then (n((ok($m).server_cpu_us_per_op / ok($one).server_cpu_us_per_op - 1) * 100; 1) + " %") else "–" end) | " +
  "\(([$one, $m] | map(select(. != null) | .errors) | add) // "–") |")
