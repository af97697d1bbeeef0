#!/usr/bin/env python3
"""Regenerates girder's compiled-in EC2 instance-type catalogue
(crates/girder-aws/src/ec2/instance_types.tsv) from the EC2 API.

It calls DescribeRegions, then in every region DescribeInstanceTypeOfferings
(LocationType=region) and DescribeInstanceTypes, paginated, and writes one line per
instance type, sorted, so the same answers always give the same file.

How the committed file was generated: this machine reaches only package registries, so
the script ran against moto 5.2.5's server (`.venv/bin/moto_server -p 5077`), whose EC2
answers are real DescribeInstanceTypes and offering data that moto ships:

    bash scripts/python-deps.sh
    .venv/bin/moto_server -p 5077 &
    AWS_ENDPOINT_URL=http://127.0.0.1:5077 AWS_ACCESS_KEY_ID=testing \
      AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 \
      .venv/bin/python scripts/ec2-instance-types.py

To regenerate against real AWS, leave AWS_ENDPOINT_URL unset and use credentials allowed
`ec2:DescribeRegions`, `ec2:DescribeInstanceTypeOfferings` and `ec2:DescribeInstanceTypes`
(read-only). `--all-regions` also includes regions the account has not opted in to
(the calls need the region enabled, so it only helps with an account that has them all).

Format (tab-separated; `#` lines are comments; the Rust side parses it at first use):

    #regions <TAB> region,region,...       the region list; bit i of a mask is region i
    name <TAB> arch <TAB> vcpus <TAB> memory_mib <TAB> max_enis <TAB> ipv4_per_eni
         <TAB> flags <TAB> region_mask

`arch` is `x86_64`, `arm64` or `x86_64,arm64`; Mac types count as their CPU's
architecture (EKS runs neither, but the catalogue knows them so they are not "unknown").
`flags` has `c` (current generation), `m` (bare metal) and `g` (GPUs), or is `-`.
`region_mask` is the hex bitset of the regions offering the type.
"""

import argparse
import os
import sys

import boto3

OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..",
    "crates",
    "girder-aws",
    "src",
    "ec2",
    "instance_types.tsv",
)

ARCHES = {"x86_64": "x86_64", "x86_64_mac": "x86_64", "arm64": "arm64", "arm64_mac": "arm64"}


def client(region):
    # boto3 honours AWS_ENDPOINT_URL itself; passing it explicitly keeps older botocore
    # versions (which ignore the variable) pointed at moto too.
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    return boto3.client("ec2", region_name=region, endpoint_url=endpoint)


def regions(all_regions):
    answer = client(os.environ.get("AWS_DEFAULT_REGION", "us-east-1")).describe_regions(
        AllRegions=all_regions
    )
    return sorted(r["RegionName"] for r in answer["Regions"])


def offered(region):
    names = set()
    pages = client(region).get_paginator("describe_instance_type_offerings").paginate(
        LocationType="region",
        Filters=[{"Name": "location", "Values": [region]}],
    )
    for page in pages:
        names.update(o["InstanceType"] for o in page["InstanceTypeOfferings"])
    return names


def describe(region):
    types = {}
    for page in client(region).get_paginator("describe_instance_types").paginate():
        for t in page["InstanceTypes"]:
            types[t["InstanceType"]] = t
    return types


def row(t):
    arches = sorted(
        {ARCHES[a] for a in t.get("ProcessorInfo", {}).get("SupportedArchitectures", []) if a in ARCHES},
        key=["x86_64", "arm64"].index,
    )
    network = t.get("NetworkInfo", {})
    flags = "".join(
        flag
        for flag, present in (
            ("c", t.get("CurrentGeneration", False)),
            ("m", t.get("BareMetal", False)),
            ("g", bool(t.get("GpuInfo", {}).get("Gpus"))),
        )
        if present
    )
    return [
        ",".join(arches) or "-",
        str(t.get("VCpuInfo", {}).get("DefaultVCpus", 0)),
        str(t.get("MemoryInfo", {}).get("SizeInMiB", 0)),
        str(network.get("MaximumNetworkInterfaces", 0)),
        str(network.get("Ipv4AddressesPerInterface", 0)),
        flags or "-",
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=OUT, help="the data file to write")
    parser.add_argument("--all-regions", action="store_true", help="include regions not opted in")
    args = parser.parse_args()

    offerings = {}
    for region in regions(args.all_regions):
        names = offered(region)
        print(f"{region}: {len(names)} types offered", file=sys.stderr)
        # A region that offers nothing is one the endpoint has no data for (moto lacks some
        # regions' offerings): it is left out, and girder skips the region check there
        # rather than call every type unavailable.
        if names:
            offerings[region] = names
    region_names = sorted(offerings)
    rows = {}
    masks = {}
    for index, region in enumerate(region_names):
        names = offerings[region]
        described = describe(region)
        for name in names:
            masks[name] = masks.get(name, 0) | (1 << index)
            # The same type is described alike everywhere; the first region's answer wins,
            # so the file does not depend on the order answers arrive in.
            if name not in rows and name in described:
                rows[name] = row(described[name])

    missing = sorted(set(masks) - set(rows))
    if missing:
        print(f"offered but never described (left out): {', '.join(missing)}", file=sys.stderr)

    lines = [
        "# EC2 instance types: generated by scripts/ec2-instance-types.py; do not edit by hand.",
        "# name\tarch\tvcpus\tmemory_mib\tmax_enis\tipv4_per_eni\tflags\tregion_mask",
        "#regions\t" + ",".join(region_names),
    ]
    for name in sorted(rows):
        lines.append("\t".join([name, *rows[name], format(masks[name], "x")]))
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(rows)} types in {len(region_names)} regions to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
