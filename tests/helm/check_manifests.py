#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# tests/helm/check_manifests.py - checks rendered certplane manifests for the deployment rules
#
# Usage: check_manifests.py RENDERED.yaml [--expect-edge-kind Deployment|DaemonSet] [--expect-hpa]
#                           [--external-redis] [--expect-sentinel N] [--expect-redis-url URL]
#                           [--acl-rules FILE] [--external NAME]... [--binary-dir DIR]
# Rules (each failure is printed with the object it concerns; exit 1 if any):
#   - the edge Service is type LoadBalancer with ports 80 and 443;
#   - the controller Deployment has 2 replicas or more, pod anti-affinity and a PodDisruptionBudget;
#   - every container has a liveness and a readiness probe, resources, and runs as non-root
#     (runAsNonRoot true and a non-zero runAsUser, container or pod level), read-only root filesystem,
#     no privilege escalation, every capability dropped, seccomp RuntimeDefault;
#   - secrets are referenced, never inlined: no env var named like a secret has a plain value, and no
#     value stored in a rendered Secret appears in any env value, arg or command;
#   - every Secret/ConfigMap/ServiceAccount a pod references is rendered or explicitly external;
#   - the bundled Redis (when expected) has appendonly yes, a PersistentVolumeClaim, an ACL file, ClusterIP
#     Services only and a NetworkPolicy; with Sentinel (--expect-sentinel N): N pods each with a sentinel, a
#     majority quorum, replication and sentinel ACL users, a headless Service;
#   - the controllers' Redis URL (--expect-redis-url; redis+sentinel:// naming N sentinels); with the bundled
#     Redis: no credentials in the URL, the ACL user, the password in a Secret volume file, and the ACL
#     ConfigMap holds files/redis-acl.rules as it is (--acl-rules);
#   - no value of a Secret in any ConfigMap; every /bin/sh -c script parses (sh -n).
import argparse
import base64
import re
import sys

import yaml

WORKLOADS = ("Deployment", "DaemonSet", "StatefulSet")
SECRET_NAME = re.compile(r"TOKEN|PASSWORD|PASSWD|HMAC|SECRET|PRIVATE_KEY|CREDENTIAL", re.I)


class Checker:
    def __init__(self, docs):
        self.docs = docs
        self.errors = []
        self.passed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.errors.append(what)
        return cond

    def of_kind(self, kind):
        return [d for d in self.docs if d.get("kind") == kind]

    def component(self, d):
        return d.get("metadata", {}).get("labels", {}).get("app.kubernetes.io/component")


def pod_spec(w):
    return w["spec"]["template"]["spec"]


def effective(container, pod, key):
    """A securityContext field as the kubelet sees it: the container's, else the pod's."""
    c = (container.get("securityContext") or {}).get(key)
    return c if c is not None else (pod.get("securityContext") or {}).get(key)


def check_services(ck):
    edges = [s for s in ck.of_kind("Service") if ck.component(s) == "edge"]
    if not ck.check(len(edges) == 1, "exactly one edge Service expected, found %d" % len(edges)):
        return
    s = edges[0]
    name = s["metadata"]["name"]
    ck.check(s["spec"].get("type") == "LoadBalancer", f"Service {name}: type must be LoadBalancer")
    ports = {p["port"]: p for p in s["spec"].get("ports", [])}
    for port in (80, 443):
        ck.check(port in ports, f"Service {name}: port {port} missing")
    ctl = [s for s in ck.of_kind("Service") if ck.component(s) == "controller"]
    ck.check(len(ctl) == 1, "exactly one controller Service expected")
    if ctl:
        names = {p.get("name") for p in ctl[0]["spec"].get("ports", [])}
        ck.check({"grpc", "http"} <= names, "controller Service: needs ports grpc and http")


def check_controller(ck):
    deps = [d for d in ck.of_kind("Deployment") if ck.component(d) == "controller"]
    if not ck.check(len(deps) == 1, "exactly one controller Deployment expected"):
        return
    d = deps[0]
    ck.check(isinstance(d["spec"].get("replicas"), int) and d["spec"]["replicas"] >= 2,
             "controller Deployment: replicas must be >= 2, is %r" % d["spec"].get("replicas"))
    anti = (pod_spec(d).get("affinity") or {}).get("podAntiAffinity")
    ck.check(bool(anti), "controller Deployment: pod anti-affinity missing")
    pdbs = [p for p in ck.of_kind("PodDisruptionBudget") if ck.component(p) == "controller"]
    ck.check(len(pdbs) == 1, "controller PodDisruptionBudget missing")
    if pdbs:
        want = d["spec"]["selector"]["matchLabels"]
        ck.check(pdbs[0]["spec"]["selector"].get("matchLabels") == want,
                 "controller PodDisruptionBudget: selector differs from the Deployment's")


def check_container(ck, where, c, pod):
    name = f"{where} container {c['name']}"
    ck.check(bool(c.get("livenessProbe")), f"{name}: livenessProbe missing")
    ck.check(bool(c.get("readinessProbe")), f"{name}: readinessProbe missing")
    ck.check(bool((c.get("resources") or {}).get("requests")), f"{name}: resource requests missing")
    ck.check(bool((c.get("resources") or {}).get("limits")), f"{name}: resource limits missing")
    ck.check(effective(c, pod, "runAsNonRoot") is True, f"{name}: runAsNonRoot must be true")
    uid = effective(c, pod, "runAsUser")
    ck.check(isinstance(uid, int) and uid > 0, f"{name}: runAsUser must be a non-zero uid, is {uid!r}")
    sc = c.get("securityContext") or {}
    ck.check(sc.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem must be true")
    ck.check(sc.get("allowPrivilegeEscalation") is False,
             f"{name}: allowPrivilegeEscalation must be false")
    ck.check(sc.get("privileged") in (None, False), f"{name}: must not be privileged")
    caps = sc.get("capabilities") or {}
    ck.check("ALL" in (caps.get("drop") or []), f"{name}: capabilities must drop ALL")
    ck.check(not (caps.get("add") or []) or caps["add"] == ["NET_BIND_SERVICE"],
             f"{name}: adds capabilities {caps.get('add')}")
    seccomp = (effective(c, pod, "seccompProfile") or {}).get("type")
    ck.check(seccomp == "RuntimeDefault", f"{name}: seccompProfile must be RuntimeDefault")


def secret_values(ck):
    """Every value stored in a rendered Secret (decoded), long enough to be meaningful."""
    vals = set()
    for s in ck.of_kind("Secret"):
        for v in (s.get("data") or {}).values():
            vals.add(base64.b64decode(v).decode("utf-8", "replace"))
        vals.update((s.get("stringData") or {}).values())
    out = set()
    for v in vals:
        for line in v.splitlines():  # token files: "TOKEN SCOPE" per line, # comments
            if line.lstrip().startswith("#"):
                continue
            out.update(word for word in line.split() if len(word) >= 8)
    return out


def check_secrets_referenced(ck, where, c, secrets):
    for e in c.get("env") or []:
        n, v = e["name"], e.get("value")
        if SECRET_NAME.search(n) and not n.endswith("_FILE"):
            ck.check("valueFrom" in e and v is None,
                     f"{where} container {c['name']}: env {n} must come from a secretKeyRef")
        if "valueFrom" in e and SECRET_NAME.search(n):
            ck.check("secretKeyRef" in e["valueFrom"],
                     f"{where} container {c['name']}: env {n} must use a secretKeyRef")
        for s in secrets:
            ck.check(v is None or s not in str(v),
                     f"{where} container {c['name']}: env {n} contains a value of a Secret")
    for field in ("args", "command"):
        for a in c.get(field) or []:
            for s in secrets:
                ck.check(s not in str(a),
                         f"{where} container {c['name']}: {field} contain a value of a Secret")
            ck.check(not re.search(r"--(token|api-tokens|eab-hmac-key|requirepass)(=|$)", str(a)),
                     f"{where} container {c['name']}: secret passed as a flag: {a}")


def check_references(ck, where, pod, external):
    rendered = {(d["kind"], d["metadata"]["name"]) for d in ck.docs}
    refs = set()
    for v in pod.get("volumes") or []:
        if "secret" in v:
            refs.add(("Secret", v["secret"]["secretName"]))
        if "configMap" in v:
            refs.add(("ConfigMap", v["configMap"]["name"]))
    for c in pod.get("containers", []) + pod.get("initContainers", []):
        for e in c.get("env") or []:
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                refs.add(("Secret", ref["name"]))
    sa = pod.get("serviceAccountName")
    if sa and sa != "default":
        refs.add(("ServiceAccount", sa))
    for r in refs:
        ck.check(r in rendered or r[1] in external,
                 f"{where}: references {r[0]} {r[1]}, which is neither rendered nor expected to exist")


def check_redis(ck, bundled, sentinels):
    sts = [s for s in ck.of_kind("StatefulSet") if ck.component(s) == "redis"]
    if not bundled:
        ck.check(not sts, "external Redis: no bundled Redis StatefulSet expected")
        return
    if not ck.check(len(sts) == 1, "bundled Redis StatefulSet missing"):
        return
    s = sts[0]
    want = sentinels or 1
    ck.check(s["spec"].get("replicas") == want, f"bundled Redis: {want} replica(s) expected")
    containers = {c["name"]: c for c in pod_spec(s)["containers"]}
    c = containers.get("redis") or pod_spec(s)["containers"][0]
    line = " ".join(map(str, (c.get("command") or []) + (c.get("args") or [])))
    ck.check(re.search(r"--appendonly yes", line) is not None, "bundled Redis: --appendonly yes missing")
    ck.check("--aclfile" in line or "aclfile" in line, "bundled Redis: no ACL file (the controllers' ACL user)")
    claims = s["spec"].get("volumeClaimTemplates") or []
    ck.check(len(claims) == 1, "bundled Redis: volumeClaimTemplates (PersistentVolumeClaim) missing")
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts") or []}
    ck.check(claims and mounts.get(claims[0]["metadata"]["name"]) == "/data",
             "bundled Redis: the claim must be mounted at /data")
    for svc in ck.of_kind("Service"):
        if ck.component(svc) == "redis":
            ck.check(svc["spec"].get("type", "ClusterIP") == "ClusterIP",
                     f"Service {svc['metadata']['name']}: Redis must not be exposed beyond the cluster")
    ck.check(any(ck.component(n) == "redis" for n in ck.of_kind("NetworkPolicy")),
             "bundled Redis: NetworkPolicy missing")
    if not sentinels:
        ck.check("sentinel" not in containers, "bundled Redis without Sentinel: no sentinel container expected")
        return
    sen = containers.get("sentinel")
    if not ck.check(sen is not None, "Sentinel: a sentinel container in each Redis pod expected"):
        return
    text = " ".join(map(str, sen.get("args") or []))
    m = re.search(r"sentinel monitor \S+ \S+ 6379 (\d+)", text)
    ck.check(m is not None and int(m.group(1)) * 2 > sentinels,
             f"Sentinel: the quorum must be a majority of {sentinels} sentinels")
    ck.check("sentinel auth-user" in text, "Sentinel: the sentinels must log in as their ACL user")
    ck.check("masteruser replication" in line, "Sentinel: replicas must log in as the replication user")
    heads = [v for v in ck.of_kind("Service") if ck.component(v) == "redis" and v["spec"].get("clusterIP") == "None"]
    ck.check(len(heads) == 1 and heads[0]["metadata"]["name"] == s["spec"].get("serviceName"),
             "Sentinel: a headless Service named by the StatefulSet's serviceName expected")


def controller_env(ck):
    deps = [d for d in ck.of_kind("Deployment") if ck.component(d) == "controller"]
    if not deps:
        return {}, None
    c = pod_spec(deps[0])["containers"][0]
    return {e["name"]: e for e in c.get("env") or []}, deps[0]


def check_redis_access(ck, bundled, sentinels, want_url, acl_rules):
    """The URL and credentials the controllers get; the ACL rule the bundled Redis gets."""
    env, dep = controller_env(ck)
    if dep is None:
        return
    url = (env.get("CERTPLANE_REDIS_URL") or {}).get("value", "")
    if want_url is not None:
        ck.check(url == want_url, f"controller: CERTPLANE_REDIS_URL is {url!r}, expected {want_url!r}")
    if sentinels:
        m = re.match(r"^redis\+sentinel://([^/@]+)/([^/]+)/\d+$", url)
        ck.check(m is not None and len(m.group(1).split(",")) == sentinels,
                 f"controller: a redis+sentinel:// URL naming {sentinels} sentinels expected, got {url!r}")
    if not bundled:
        return
    ck.check("@" not in url, "controller: the bundled Redis URL must carry no credentials")
    ck.check((env.get("CERTPLANE_REDIS_USER") or {}).get("value") not in (None, "", "default"),
             "controller: the bundled Redis needs the ACL user in CERTPLANE_REDIS_USER")
    pwfile = (env.get("CERTPLANE_REDIS_PASSWORD_FILE") or {}).get("value", "")
    mounts = {m["mountPath"]: m["name"] for m in pod_spec(dep)["containers"][0].get("volumeMounts") or []}
    vols = {v["name"]: v for v in pod_spec(dep).get("volumes") or []}
    vol = vols.get(mounts.get(pwfile.rsplit("/", 1)[0], ""), {})
    ck.check("secret" in vol, f"controller: CERTPLANE_REDIS_PASSWORD_FILE {pwfile!r} must be in a Secret volume")
    cms = [m for m in ck.of_kind("ConfigMap") if ck.component(m) == "redis"]
    if ck.check(len(cms) == 1, "bundled Redis: the ACL ConfigMap is missing") and acl_rules:
        with open(acl_rules) as f:
            ck.check(cms[0]["data"].get("redis-acl.rules") == f.read(),
                     f"bundled Redis: the ACL ConfigMap's redis-acl.rules differs from {acl_rules}")


def check_no_secret_in_configmaps(ck, secrets):
    for cm in ck.of_kind("ConfigMap"):
        text = "\n".join(map(str, (cm.get("data") or {}).values()))
        for s in secrets:
            ck.check(s not in text, f"ConfigMap {cm['metadata']['name']}: contains a value of a Secret")


def check_scripts(ck, where, c):
    """Shell scripts given to /bin/sh -c parse (sh -n)."""
    import subprocess
    cmd = c.get("command") or []
    if cmd[:2] != ["/bin/sh", "-c"]:
        return
    script = (c.get("args") or [""])[0] if len(cmd) == 2 else cmd[2]
    r = subprocess.run(["sh", "-n"], input=script, capture_output=True, text=True)
    ck.check(r.returncode == 0, f"{where} container {c['name']}: the shell script does not parse: {r.stderr.strip()}")


def binary_options(bindir, binary):
    """Flags and CERTPLANE_* variables listed by BINARY --help, or None when it is not built."""
    import os
    import subprocess
    path = os.path.join(bindir, "bin", binary)
    if not os.access(path, os.X_OK):
        return None
    out = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
    text = out.stdout + out.stderr
    return set(re.findall(r"^\s+--([a-z0-9-]+)", text, re.M)), set(re.findall(r"\$(CERTPLANE_[A-Z0-9_]+)", text))


def check_flags(ck, where, c, known):
    """Every --flag in args and CERTPLANE_* variable in env exists in the binary (chart and binary aligned)."""
    flags, envs = known
    for a in c.get("args") or []:
        m = re.match(r"--([a-z0-9-]+)", str(a))
        if m:
            ck.check(m.group(1) in flags, f"{where} container {c['name']}: {a}: unknown flag of the binary")
    for e in c.get("env") or []:
        if e["name"].startswith("CERTPLANE_"):
            ck.check(e["name"] in envs, f"{where} container {c['name']}: env {e['name']} unknown to the binary")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rendered")
    ap.add_argument("--expect-edge-kind", default="Deployment")
    ap.add_argument("--expect-hpa", action="store_true")
    ap.add_argument("--external-redis", action="store_true")
    ap.add_argument("--expect-sentinel", type=int, default=0, help="sentinels (= Redis pods) expected")
    ap.add_argument("--expect-redis-url", help="the CERTPLANE_REDIS_URL the controllers must get")
    ap.add_argument("--acl-rules", help="helm/certplane/files/redis-acl.rules: the bundled Redis must get it as it is")
    ap.add_argument("--external", action="append", default=[],
                    help="name of a Secret/ConfigMap the values say exists outside the chart")
    ap.add_argument("--binary-dir", help="build tree whose bin/certplane-{controller,edge} --help list the options")
    a = ap.parse_args()
    known = {}
    if a.binary_dir:
        for comp in ("controller", "edge"):
            opts = binary_options(a.binary_dir, f"certplane-{comp}")
            if opts is None:
                print(f"check_manifests: {a.binary_dir}/bin/certplane-{comp} not built; its flags are not compared")
            else:
                known[comp] = opts
    with open(a.rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    ck = Checker(docs)

    check_services(ck)
    check_controller(ck)
    check_redis(ck, not a.external_redis, a.expect_sentinel)
    check_redis_access(ck, not a.external_redis, a.expect_sentinel, a.expect_redis_url, a.acl_rules)
    secrets = secret_values(ck)
    check_no_secret_in_configmaps(ck, secrets)
    edges = [w for w in ck.of_kind(a.expect_edge_kind) if ck.component(w) == "edge"]
    ck.check(len(edges) == 1, f"edge {a.expect_edge_kind} missing")
    hpas = ck.of_kind("HorizontalPodAutoscaler")
    ck.check(bool(hpas) == a.expect_hpa, "HorizontalPodAutoscaler %s" %
             ("missing" if a.expect_hpa else "not expected"))
    if edges and a.expect_hpa:
        ck.check("replicas" not in edges[0]["spec"], "edge Deployment: replicas must be left to the HPA")

    workloads = [d for d in docs if d.get("kind") in WORKLOADS]
    ck.check(len(workloads) >= 2, "fewer than two workloads rendered")
    for w in workloads:
        where = f"{w['kind']} {w['metadata']['name']}"
        pod = pod_spec(w)
        ck.check(pod.get("automountServiceAccountToken") is False,
                 f"{where}: automountServiceAccountToken must be false")
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            check_container(ck, where, c, pod)
            check_secrets_referenced(ck, where, c, secrets)
            check_scripts(ck, where, c)
            if ck.component(w) in known and c["name"] == ck.component(w):
                check_flags(ck, where, c, known[ck.component(w)])
        check_references(ck, where, pod, set(a.external))

    for e in ck.errors:
        print(f"FAIL: {a.rendered}: {e}")
    print(f"check_manifests: {a.rendered}: {len(docs)} objects, {ck.passed} checks passed, "
          f"{len(ck.errors)} failed")
    return 1 if ck.errors else 0


if __name__ == "__main__":
    sys.exit(main())
