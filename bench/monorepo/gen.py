#!/usr/bin/env python3
"""Generates a monorepo of N services for bench/monorepo/run.sh.

Each service svc-NNNN has three source files, its own Earthfile (COPY the
sources, a RUN that "builds" them, SAVE ARTIFACT ... AS LOCAL), and the root
Earthfile BUILDs them all. The same work with the same commands on the host:
build.ninja and Makefile. With --dockerfile, a multi-stage Dockerfile with
one stage per service and a final stage collecting every result.

usage: gen.py N DIR [--dockerfile]
"""
import os
import sys

# The "build": the same shell pipeline in the sandbox and on the host.
def build_cmd(srcs, out):
    return f"cat {' '.join(srcs)} | sha256sum > {out}"


def main():
    n, root = int(sys.argv[1]), sys.argv[2]
    dockerfile = "--dockerfile" in sys.argv[3:]
    names = [f"svc-{i:04d}" for i in range(n)]
    files = ["a.txt", "b.txt", "c.txt"]
    os.makedirs(root, exist_ok=True)
    for i, name in enumerate(names):
        src = os.path.join(root, name, "src")
        os.makedirs(src, exist_ok=True)
        for j, f in enumerate(files):
            with open(os.path.join(src, f), "w") as fh:
                fh.write(f"{name} {f}\n" + f"line {i * 3 + j}\n" * 64)
        with open(os.path.join(root, name, "Earthfile"), "w") as fh:
            fh.write(
                "VERSION 0.8\nFROM busybox\n\nbuild:\n"
                "    COPY src /src\n"
                f"    RUN {build_cmd(['/src/' + f for f in files], '/out.txt')}\n"
                "    SAVE ARTIFACT /out.txt AS LOCAL out.txt\n"
            )
    with open(os.path.join(root, "Earthfile"), "w") as fh:
        fh.write("VERSION 0.8\n\nall:\n")
        for name in names:
            fh.write(f"    BUILD ./{name}+build\n")
    with open(os.path.join(root, "build.ninja"), "w") as fh:
        fh.write("rule sha\n  command = " + build_cmd(["$in"], "$out") + "\n\n")
        for name in names:
            ins = " ".join(f"{name}/src/{f}" for f in files)
            fh.write(f"build {name}/out.txt: sha {ins}\n")
        fh.write("build all: phony " + " ".join(f"{x}/out.txt" for x in names) + "\n")
        fh.write("default all\n")
    with open(os.path.join(root, "Makefile"), "w") as fh:
        fh.write("all: " + " ".join(f"{x}/out.txt" for x in names) + "\n.PHONY: all\n\n")
        for name in names:
            ins = " ".join(f"{name}/src/{f}" for f in files)
            fh.write(f"{name}/out.txt: {ins}\n\t" + build_cmd(["$^"], "$@") + "\n")
    if dockerfile:
        with open(os.path.join(root, "Dockerfile"), "w") as fh:
            for name in names:
                fh.write(f"FROM busybox AS {name}\nCOPY {name}/src /src\n")
                fh.write(f"RUN {build_cmd(['/src/' + f for f in files], '/out.txt')}\n\n")
            fh.write("FROM busybox\n")
            for name in names:
                fh.write(f"COPY --from={name} /out.txt /out/{name}.txt\n")


if __name__ == "__main__":
    main()
