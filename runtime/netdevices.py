"""linux.netDevices (spec 1.3): move host interfaces into the container's
network namespace, renamed if asked, with their permanent global addresses,
and up. pyroute2 does the netlink work; it is imported only here."""

from runtime.errors import Error

IFA_F_PERMANENT = 0x80
RT_SCOPE_UNIVERSE = 0


def move(pid: int, devices: dict) -> None:
    """Called between clone and GO: the container's netns exists, empty."""
    import os

    from pyroute2 import IPRoute, NetNS
    from pyroute2.netlink.exceptions import NetlinkError

    netns = f"/proc/{pid}/ns/net"
    moved: list[tuple[str, str, list]] = []
    ns_fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with IPRoute() as host:
            for host_name, spec in devices.items():
                field = f"linux.netDevices.{host_name}"
                found = host.link_lookup(ifname=host_name)
                if not found:
                    raise Error(field, "no such network device in the runtime's network namespace")
                index = found[0]
                addresses = []
                for a in host.get_addr(index=index):
                    flags = a.get_attr("IFA_FLAGS") or a["flags"]
                    if a["scope"] == RT_SCOPE_UNIVERSE and flags & IFA_F_PERMANENT:
                        addresses.append((a["family"], a.get_attr("IFA_ADDRESS"), a["prefixlen"]))
                try:
                    host.link("set", index=index, net_ns_fd=ns_fd)
                except NetlinkError as exc:
                    raise Error(field, f"move into the container's network namespace: {exc.args[-1]}") from None
                moved.append((host_name, (spec or {}).get("name") or host_name, addresses))
        with NetNS(netns) as ns:
            for host_name, name, addresses in moved:
                field = f"linux.netDevices.{host_name}"
                index = ns.link_lookup(ifname=host_name)[0]
                try:
                    if name != host_name:
                        if "%d" not in name and ns.link_lookup(ifname=name):
                            raise Error(field, f"a device named {name} already exists in the container")
                        ns.link("set", index=index, ifname=name)
                    for family, address, prefixlen in addresses:
                        ns.addr("add", index=index, family=family, address=address, prefixlen=prefixlen)
                    ns.link("set", index=index, state="up")
                except NetlinkError as exc:
                    raise Error(field, f"configure in the container: {exc.args[-1]}") from None
    finally:
        os.close(ns_fd)
