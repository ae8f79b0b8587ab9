"""Entry point of oslo-config-generator (namespace ``nova.conf``)."""

import nova.conf


def list_opts():
    grouped = {}
    for module in nova.conf.option_modules():
        for group, opts in module.list_opts().items():
            grouped.setdefault(group, []).extend(opts)
    return [(group, opts) for group, opts in
            sorted(grouped.items(), key=lambda item: str(item[0]))]
