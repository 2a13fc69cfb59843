#!/usr/bin/env python3
"""Cross-field checks of Kubernetes manifests that schema validation (kubernetes-validate) does
not make but an API server or the running cluster would trip over:

- a StatefulSet's selector matches its pod template's labels (the API server refuses it otherwise);
- its serviceName names a headless Service among the manifests, whose selector matches the pods
  (otherwise the pods get no per-pod DNS names);
- the Service's named targetPort and every probe port are ports the container declares;
- every volumeMount names a volume or a volumeClaimTemplate.

Usage: kubernetes-consistency.py FILE...        exit 1 with one line per problem
       kubernetes-consistency.py --self-test FILE...   also prove each check catches a broken copy
Needs PyYAML (installed with kubernetes-validate).
"""

import copy
import sys

import yaml


def selector_matches(selector, labels):
    """Whether a label selector (matchLabels and matchExpressions) selects these labels."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def container_ports(container):
    ports = set()
    for port in container.get("ports") or []:
        ports.add(port["containerPort"])
        if "name" in port:
            ports.add(port["name"])
    return ports


def probe_ports(container):
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = container.get(kind) or {}
        for handler in ("grpc", "httpGet", "tcpSocket"):
            if handler in probe:
                yield kind, probe[handler]["port"]


def problems(docs):
    services = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "Service"}
    found = []
    for sts in (d for d in docs if d.get("kind") == "StatefulSet"):
        name = sts["metadata"]["name"]
        spec = sts["spec"]
        pod = spec["template"]
        labels = pod["metadata"].get("labels") or {}
        if not selector_matches(spec["selector"], labels):
            found.append(f"StatefulSet {name}: selector does not match the template labels {labels}")
        service = services.get(spec.get("serviceName"))
        if service is None:
            found.append(f"StatefulSet {name}: serviceName {spec.get('serviceName')!r} is no Service here")
        else:
            if service["spec"].get("clusterIP") != "None":
                found.append(f"Service {service['metadata']['name']}: not headless (clusterIP: None)")
            if not selector_matches({"matchLabels": service["spec"].get("selector") or {}}, labels):
                found.append(f"Service {service['metadata']['name']}: selector does not match the pods of {name}")
        containers = pod["spec"]["containers"]
        declared = set().union(*(container_ports(c) for c in containers))
        if service is not None:
            for port in service["spec"].get("ports") or []:
                target = port.get("targetPort", port["port"])
                if target not in declared:
                    found.append(f"Service {service['metadata']['name']}: targetPort {target!r} is no container port")
        volumes = {v["name"] for v in pod["spec"].get("volumes") or []}
        volumes |= {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates") or []}
        for container in containers:
            for kind, port in probe_ports(container):
                if port not in container_ports(container):
                    found.append(f"{name}/{container['name']}: {kind} port {port!r} is not declared")
            for mount in container.get("volumeMounts") or []:
                if mount["name"] not in volumes:
                    found.append(f"{name}/{container['name']}: volumeMount {mount['name']!r} has no volume")
    return found


def self_test(docs):
    """Breaks a copy of the manifests once per check; each break must be reported."""
    def first(kind):
        return lambda ds: next(d for d in ds if d.get("kind") == kind)

    sts, svc = first("StatefulSet"), first("Service")
    breaks = {
        "selector": lambda ds: sts(ds)["spec"]["selector"]["matchLabels"].update({"extra": "x"}),
        "template labels": lambda ds: sts(ds)["spec"]["template"]["metadata"].update(labels={"other": "x"}),
        "serviceName": lambda ds: sts(ds)["spec"].update(serviceName="nope"),
        "headless": lambda ds: svc(ds)["spec"].pop("clusterIP"),
        "service selector": lambda ds: svc(ds)["spec"].update(selector={"app": "other"}),
        "targetPort": lambda ds: svc(ds)["spec"]["ports"][0].update(targetPort="nope"),
        "probe port": lambda ds: sts(ds)["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
        ["grpc"].update(port=1),
        "volumeMount": lambda ds: sts(ds)["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        .append({"name": "nope", "mountPath": "/nope"}),
    }
    failed = []
    for what, mutate in breaks.items():
        broken = copy.deepcopy(docs)
        mutate(broken)
        if not problems(broken):
            failed.append(what)
    return failed


def main(args):
    run_self_test = "--self-test" in args
    files = [a for a in args if a != "--self-test"]
    if not files:
        sys.exit(__doc__)
    docs = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            docs.extend(d for d in yaml.safe_load_all(f) if d)
    found = problems(docs)
    for problem in found:
        print(f"kubernetes-consistency: {problem}", file=sys.stderr)
    if run_self_test:
        for what in self_test(docs):
            print(f"kubernetes-consistency: self-test: a broken {what} went unnoticed", file=sys.stderr)
            found.append(what)
        if not any(d.get("kind") == "StatefulSet" for d in docs):
            found.append("no StatefulSet to test")
    if found:
        sys.exit(1)
    print(f"kubernetes-consistency: {len(docs)} resources consistent" + (", self-test passed" if run_self_test else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
