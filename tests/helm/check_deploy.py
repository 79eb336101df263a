#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# tests/helm/check_deploy.py - static checks of deploy/: compose.yaml, the Dockerfiles, haproxy.cfg
#
# Usage: check_deploy.py SOURCE_DIR [BINARY_DIR]
# No Docker engine is needed: compose.yaml is parsed as YAML and every reference is followed (build
# contexts, Dockerfiles, mounted files, depends_on, haproxy backends, profiles); the Dockerfiles are
# read for the rules of the images (Debian bookworm, multi-stage, numeric non-root USER, EXPOSE,
# ENTRYPOINT, the CMake target exists). With BINARY_DIR, every CERTPLANE_* variable set in compose.yaml
# must be listed by the matching binary's --help (when the binary is built).
import os
import re
import subprocess
import sys

import yaml

errors = []


def check(cond, what):
    if not cond:
        errors.append(what)
    return cond


def dockerfile_rules(path, target, src):
    text = open(path).read()
    froms = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I)
    check(len(froms) >= 2, f"{path}: multi-stage build expected (2 FROM lines), found {len(froms)}")
    for image, _ in froms:
        check(image.startswith("debian:${DEBIAN_RELEASE}") or image.startswith("debian:bookworm"),
              f"{path}: FROM {image}: Debian bookworm expected")
    check(re.search(r"^ARG DEBIAN_RELEASE=bookworm$", text, re.M) is not None,
          f"{path}: ARG DEBIAN_RELEASE=bookworm missing")
    runtime = text[text.rfind("FROM "):]
    users = re.findall(r"^USER\s+(\S+)", runtime, re.M)
    check(users and re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", users[-1]) is not None,
          f"{path}: runtime stage needs a numeric non-root USER, has {users}")
    check(re.search(r"^EXPOSE\s+\d+", runtime, re.M) is not None, f"{path}: EXPOSE missing")
    check(re.search(r'^ENTRYPOINT\s+\["/usr/local/bin/' + re.escape(target) + r'"\]', runtime, re.M)
          is not None, f"{path}: ENTRYPOINT [\"/usr/local/bin/{target}\"] missing")
    check(f"--target {target}" in text, f"{path}: cmake --build --target {target} missing")
    for pkg in ("libgrpc29", "libprotobuf-c1", "libh2o-evloop0.13", "libssl3", "ca-certificates"):
        check(re.search(r"\b" + re.escape(pkg) + r"\b", runtime) is not None,
              f"{path}: runtime package {pkg} missing")
    check(not re.search(r"-dev\b", runtime), f"{path}: -dev packages in the runtime stage")
    cmake_files = [os.path.join(d, f) for d, _, fs in os.walk(src)
                   if not os.path.relpath(d, src).startswith(("build", ".git", "bench"))
                   for f in fs if f == "CMakeLists.txt" or f.endswith(".cmake")]
    defined = any(re.search(r"add_executable\(\s*" + re.escape(target) + r"\b", open(f).read())
                  for f in cmake_files)
    check(defined, f"{path}: no CMake file defines add_executable({target})")


def help_vars(binary):
    try:
        out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return set(re.findall(r"\$(CERTPLANE_[A-Z0-9_]+)", out.stdout + out.stderr))


def main():
    src = os.path.abspath(sys.argv[1])
    bindir = sys.argv[2] if len(sys.argv) > 2 else None
    deploy = os.path.join(src, "deploy")
    compose_path = os.path.join(deploy, "compose.yaml")
    c = yaml.safe_load(open(compose_path))
    services = c.get("services") or {}
    check({"redis"} <= set(services), "compose: redis service missing")
    profiles = {}
    for name, s in services.items():
        for p in s.get("profiles") or ["(always)"]:
            profiles.setdefault(p, []).append(name)
        check("image" in s, f"compose: {name}: image missing")
        b = s.get("build")
        if b:
            ctx = os.path.normpath(os.path.join(deploy, b["context"]))
            df = os.path.join(ctx, b.get("dockerfile", "Dockerfile"))
            check(os.path.isdir(ctx), f"compose: {name}: build context {ctx} does not exist")
            check(os.path.isfile(df), f"compose: {name}: Dockerfile {df} does not exist")
        deps = s.get("depends_on") or []
        for d in (deps if isinstance(deps, list) else deps.keys()):
            check(d in services, f"compose: {name}: depends_on unknown service {d}")
            dp = services.get(d, {}).get("profiles")
            check(dp is None or set(dp) >= set(s.get("profiles") or []),
                  f"compose: {name}: depends on {d}, which is not in the same profiles")
        for v in s.get("volumes") or []:
            host = v.split(":")[0]
            if host.startswith("."):
                check(os.path.exists(os.path.join(deploy, host)), f"compose: {name}: mounts missing {host}")
            else:
                check(host in (c.get("volumes") or {}), f"compose: {name}: volume {host} not declared")
        for k, val in (s.get("environment") or {}).items():
            if re.search(r"TOKEN|PASSWORD|HMAC|KEK", k):
                check(isinstance(val, str) and "${" in val,
                      f"compose: {name}: {k} must come from the environment (${{...}}), not the file")
    check(set(profiles) >= {"single", "ha"}, f"compose: profiles single and ha expected, have {set(profiles)}")
    single, ha = profiles.get("single", []), profiles.get("ha", [])
    kinds = lambda names, img: [n for n in names if img in services[n].get("image", "")]
    check(len(kinds(single, "certplane-controller")) == 1, "compose single: one controller expected")
    check(len(kinds(single, "certplane-edge")) == 1, "compose single: one edge expected")
    check(len(kinds(ha, "certplane-controller")) == 2, "compose ha: two controllers expected")
    check(len(kinds(ha, "certplane-edge")) == 2, "compose ha: two edges expected")
    check(len(kinds(ha, "haproxy")) == 1, "compose ha: haproxy expected")
    for prof in ("single", "ha"):  # two services of one profile must not publish the same host port
        seen = {}
        for n in profiles.get(prof, []) + profiles.get("(always)", []):
            for p in services[n].get("ports") or []:
                host = ":".join(str(p).split(":")[:-1])
                check(host not in seen, f"compose {prof}: host port {host} published by {seen.get(host)} and {n}")
                seen[host] = n
        check(any(h.endswith("80") and not h.startswith("127.") for h in seen) and
              any(h.endswith("443") and not h.startswith("127.") for h in seen),
              f"compose {prof}: ports 80 and 443 must be published")
    cfg = open(os.path.join(deploy, "haproxy.cfg")).read()
    for host in re.findall(r"^\s*server\s+\S+\s+([^:\s]+):\d+", cfg, re.M):
        check(host in ha, f"haproxy.cfg: server {host} is not a service of profile ha")

    dockerfile_rules(os.path.join(deploy, "controller.Dockerfile"), "certplane-controller", src)
    dockerfile_rules(os.path.join(deploy, "edge.Dockerfile"), "certplane-edge", src)

    if bindir:
        for img, binary in (("certplane-controller", "certplane-controller"), ("certplane-edge", "certplane-edge")):
            path = os.path.join(bindir, "bin", binary)
            known = help_vars(path) if os.access(path, os.X_OK) else None
            if known is None:
                print(f"check_deploy: {path} not built; its variables are not compared")
                continue
            for n, s in services.items():
                if img in s.get("image", ""):
                    for k in s.get("environment") or {}:
                        check(k in known, f"compose: {n}: {k} is not a variable of {binary} (--help)")
    for e in errors:
        print(f"FAIL: {e}")
    print(f"check_deploy: {len(services)} compose services, profiles {sorted(profiles)}: "
          f"{'ok' if not errors else str(len(errors)) + ' failed'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
