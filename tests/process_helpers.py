"""Looking at other processes through /proc, for tests that check nothing is left running."""
from pathlib import Path


def process_running(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped (whoever adopted an
    orphan may reap it late, and a zombie runs nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def child_processes(pid: int) -> list[int]:
    """The process ids of ``pid``'s children ([] once it is gone), started by any of its threads
    (Linux lists children per thread)."""
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return children


def command_line(pid: int) -> str:
    """The command line of ``pid``, arguments separated by spaces ("" once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""
