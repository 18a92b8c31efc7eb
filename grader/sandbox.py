"""Operating-system protections the worker applies to itself before importing student code.

Each protection is applied independently and returns what it achieved as JSON-able facts
(phrased for reports by :mod:`grader.protections`): resource limits (everywhere with
``resource``), and on Linux a private network namespace, Landlock filesystem and signal
confinement, and a seccomp filter that forbids new processes, program execution, sockets and
system administration calls. Nothing here needs privileges beyond what an ordinary user has on a
6.x kernel.

Every result has a ``status``: ``active`` (with details), ``unsupported`` (not on this platform),
``unavailable`` or ``failed`` (with the ``error``).

Loaded by the worker by file path: standard library only.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct
import sys

try:
    import resource
except ImportError:  # Windows
    resource = None

MiB = 1 << 20


def _unsupported() -> dict:
    """A protection this platform does not have."""
    return {"status": "unsupported"}


def _error(status: str, error: str | None = None) -> dict:
    """A protection that is not in force, and why (the last OS error by default)."""
    return {"status": status, "error": error or os.strerror(ctypes.get_errno())}


def apply_rlimits(limits: dict) -> dict:
    """Cap CPU seconds, file size, open files, processes and core dumps (address space later)."""
    if resource is None:
        return _unsupported()
    wanted = {
        "RLIMIT_CPU": limits["cpu_seconds"],
        "RLIMIT_FSIZE": limits["file_size_mb"] * MiB,
        "RLIMIT_NOFILE": limits["open_files"],
        "RLIMIT_NPROC": 0,
        "RLIMIT_CORE": 0,
    }
    done = []
    for name, value in wanted.items():
        res = getattr(resource, name, None)
        if res is None:
            continue
        try:
            resource.setrlimit(res, (value, value))
            done.append(name[7:].lower())
        except (ValueError, OSError):
            pass
    return {"status": "active", "limits": done}


def limit_memory(limit_mb: int) -> dict:
    """Cap the address space at ``limit_mb`` MiB."""
    if resource is None or not hasattr(resource, "RLIMIT_AS"):
        return _unsupported()
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit_mb * MiB, limit_mb * MiB))
    except (ValueError, OSError) as exc:
        return _error("failed", str(exc))
    return {"status": "active", "address_space_mb": limit_mb}


_libc = None


def _lib():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _syscall(*args) -> int:
    return _lib().syscall(*args)


def new_network_namespace() -> dict:
    """Move into an empty network namespace: no interfaces but a downed loopback."""
    if sys.platform != "linux":
        return _unsupported()
    CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
    if _lib().unshare(CLONE_NEWNET) == 0:
        return {"status": "active", "namespaces": ["network"]}
    if _lib().unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        return {"status": "active", "namespaces": ["user", "network"]}
    return _error("unavailable")


# --- Landlock -------------------------------------------------------------------------------
_LL_CREATE, _LL_ADD_RULE, _LL_RESTRICT = 444, 445, 446
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 14, 1 << 15
_FILE_ONLY = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV


def _landlock_fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # ABI 1: execute .. make_sym
    if abi >= 2:
        rights |= 1 << 13  # refer
    if abi >= 3:
        rights |= _FS_TRUNCATE
    if abi >= 5:
        rights |= _FS_IOCTL_DEV
    return rights


def landlock(read_paths: list[str], write_paths: list[str]) -> dict:
    """Allow reading only ``read_paths`` and writing only beneath ``write_paths``; with the ABI,
    also what the ruleset denies beyond files (Landlock's names for them)."""
    if sys.platform != "linux":
        return _unsupported()
    abi = _syscall(_LL_CREATE, None, 0, 1)  # LANDLOCK_CREATE_RULESET_VERSION
    if abi < 1:
        return _error("unavailable", "kernel without Landlock")
    handled = _landlock_fs_rights(abi)
    attr = struct.pack("=QQQ", handled, 0b11 if abi >= 4 else 0, 0b11 if abi >= 6 else 0)
    size = 24 if abi >= 6 else (16 if abi >= 4 else 8)
    buf = ctypes.create_string_buffer(attr[:size], size)
    ruleset = _syscall(_LL_CREATE, buf, size, 0)
    if ruleset < 0:
        return _error("unavailable")
    read = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
    try:
        for path in read_paths:
            _landlock_rule(ruleset, path, read, handled)
        for path in write_paths:
            _landlock_rule(ruleset, path, handled, handled)
        _lib().prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
        if _syscall(_LL_RESTRICT, ruleset, 0) != 0:
            return _error("failed")
    finally:
        os.close(ruleset)
    return {"status": "active", "landlock_abi": abi,
            "net": ["bind_tcp", "connect_tcp"] if abi >= 4 else [],
            "scoped": ["abstract_unix_socket", "signal"] if abi >= 6 else []}


def _landlock_rule(ruleset: int, path: str, rights: int, handled: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not os.path.isdir(path):
            rights &= _FILE_ONLY
        attr = struct.pack("=Qi", rights & handled, fd)
        _syscall(_LL_ADD_RULE, ruleset, 1, ctypes.c_char_p(attr), 0)
    finally:
        os.close(fd)


# --- seccomp --------------------------------------------------------------------------------
# x86_64 system call numbers denied with EPERM: process creation and execution, sockets,
# tracing, signals to others, limits, mounts and namespaces, kernel modules, ownership and mode
# changes (Landlock does not cover those), identity changes and the io_uring side door.
_DENY_X86_64 = {
    57: "fork", 58: "vfork", 59: "execve", 322: "execveat", 101: "ptrace",
    310: "process_vm_readv", 311: "process_vm_writev", 41: "socket", 42: "connect",
    160: "setrlimit", 165: "mount", 166: "umount2", 155: "pivot_root", 161: "chroot",
    167: "swapon", 168: "swapoff", 169: "reboot", 170: "sethostname", 171: "setdomainname",
    172: "iopl", 173: "ioperm", 175: "init_module", 176: "delete_module", 313: "finit_module",
    246: "kexec_load", 320: "kexec_file_load", 272: "unshare", 308: "setns", 200: "tkill",
    424: "pidfd_send_signal", 434: "pidfd_open", 438: "pidfd_getfd", 321: "bpf",
    298: "perf_event_open", 323: "userfaultfd", 250: "keyctl", 248: "add_key",
    249: "request_key", 425: "io_uring_setup", 426: "io_uring_enter",
    427: "io_uring_register", 90: "chmod", 91: "fchmod", 268: "fchmodat", 452: "fchmodat2",
    92: "chown", 93: "fchown", 94: "lchown", 260: "fchownat", 188: "setxattr",
    189: "lsetxattr", 190: "fsetxattr", 197: "removexattr", 198: "lremovexattr",
    199: "fremovexattr", 132: "utime", 235: "utimes", 261: "futimesat", 280: "utimensat",
    133: "mknod", 259: "mknodat", 164: "settimeofday", 227: "clock_settime",
    159: "adjtimex", 305: "clock_adjtime", 163: "acct", 179: "quotactl", 105: "setuid",
    106: "setgid", 113: "setreuid", 114: "setregid", 117: "setresuid", 119: "setresgid",
    116: "setgroups", 122: "setfsuid", 123: "setfsgid", 126: "capset",
    303: "name_to_handle_at", 304: "open_by_handle_at", 300: "fanotify_init",
    428: "open_tree", 429: "move_mount", 430: "fsopen", 431: "fsconfig", 432: "fsmount",
    433: "fspick", 442: "mount_setattr", 319: "memfd_create", 447: "memfd_secret",
    103: "syslog", 153: "vhangup", 129: "rt_sigqueueinfo", 297: "rt_tgsigqueueinfo",
    141: "setpriority", 203: "sched_setaffinity", 251: "ioprio_set", 256: "migrate_pages",
    279: "move_pages", 440: "process_madvise", 312: "kcmp",
}
_CLONE, _CLONE3, _KILL, _TGKILL, _PRLIMIT64 = 56, 435, 62, 234, 302
_AUDIT_ARCH_X86_64 = 0xC000003E
_CLONE_THREAD = 0x00010000
_LD_ABS_W, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _KILL_PROCESS = 0x7FFF0000, 0x80000000
_EPERM, _ENOSYS = 0x00050000 | 1, 0x00050000 | 38


def _arg_lo(i: int) -> int:
    return 16 + 8 * i


def _arg_hi(i: int) -> int:
    return 20 + 8 * i


def seccomp_program(pid: int) -> list[tuple[int, int, int, int]]:
    """BPF filter (x86_64) as a list of (code, jt, jf, k)."""
    p = [(_LD_ABS_W, 0, 0, 4), (_JEQ, 1, 0, _AUDIT_ARCH_X86_64), (_RET, 0, 0, _KILL_PROCESS),
         (_LD_ABS_W, 0, 0, 0), (_JGE, 0, 1, 0x40000000), (_RET, 0, 0, _EPERM)]
    for nr in sorted(_DENY_X86_64):
        p += [(_JEQ, 0, 1, nr), (_RET, 0, 0, _EPERM)]
    p += [(_JEQ, 0, 1, _CLONE3), (_RET, 0, 0, _ENOSYS)]  # libc falls back to clone
    # clone: threads only
    p += [(_JEQ, 0, 4, _CLONE), (_LD_ABS_W, 0, 0, _arg_lo(0)), (_JSET, 0, 1, _CLONE_THREAD),
          (_RET, 0, 0, _ALLOW), (_RET, 0, 0, _EPERM)]
    # kill and tgkill: only this process
    for nr in (_KILL, _TGKILL):
        p += [(_JEQ, 0, 4, nr), (_LD_ABS_W, 0, 0, _arg_lo(0)), (_JEQ, 0, 1, pid),
              (_RET, 0, 0, _ALLOW), (_RET, 0, 0, _EPERM)]
    # prlimit64: reading limits is fine, setting them is not
    p += [(_JEQ, 0, 6, _PRLIMIT64), (_LD_ABS_W, 0, 0, _arg_lo(2)), (_JEQ, 0, 3, 0),
          (_LD_ABS_W, 0, 0, _arg_hi(2)), (_JEQ, 0, 1, 0), (_RET, 0, 0, _ALLOW),
          (_RET, 0, 0, _EPERM)]
    p.append((_RET, 0, 0, _ALLOW))
    return p


def seccomp() -> dict:
    """Install the filter; from here on no new process, program, socket or limit change."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return _unsupported()
    prog = seccomp_program(os.getpid())
    raw = b"".join(struct.pack("=HBBI", *ins) for ins in prog)
    filt = ctypes.create_string_buffer(raw, len(raw))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(prog), ctypes.addressof(filt))
    _lib().prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    if _lib().prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, FILTER
        return _error("failed")
    return {"status": "active"}
