/**
 * Go `os.FileMode` bits (what fsutil's `Stat.mode` carries, wire doc 5.3) and their unix equivalents.
 */
export const GoMode = {
  Dir: 0x80000000,
  Append: 0x40000000,
  Exclusive: 0x20000000,
  Temporary: 0x10000000,
  Symlink: 0x08000000,
  Device: 0x04000000,
  NamedPipe: 0x02000000,
  Socket: 0x01000000,
  Setuid: 0x00800000,
  Setgid: 0x00400000,
  CharDevice: 0x00200000,
  Sticky: 0x00100000,
  Irregular: 0x00080000,
  Perm: 0o777,
} as const

/** The bits that make an entry something other than a regular file. */
export const GoTypeMask = (GoMode.Dir | GoMode.Symlink | GoMode.NamedPipe | GoMode.Socket | GoMode.Device | GoMode.CharDevice | GoMode.Irregular) >>> 0

const S_IFMT = 0o170000
const S_IFSOCK = 0o140000
const S_IFLNK = 0o120000
const S_IFREG = 0o100000
const S_IFBLK = 0o060000
const S_IFDIR = 0o040000
const S_IFCHR = 0o020000
const S_IFIFO = 0o010000

/** Converts a unix `st_mode` to Go FileMode bits. */
export function unixToGoMode(mode: number): number {
  let out = mode & 0o777
  switch (mode & S_IFMT) {
    case S_IFDIR:
      out |= GoMode.Dir
      break
    case S_IFLNK:
      out |= GoMode.Symlink
      break
    case S_IFBLK:
      out |= GoMode.Device
      break
    case S_IFCHR:
      out |= GoMode.Device | GoMode.CharDevice
      break
    case S_IFIFO:
      out |= GoMode.NamedPipe
      break
    case S_IFSOCK:
      out |= GoMode.Socket
      break
  }
  if (mode & 0o4000) out |= GoMode.Setuid
  if (mode & 0o2000) out |= GoMode.Setgid
  if (mode & 0o1000) out |= GoMode.Sticky
  return out >>> 0
}

/** Converts Go FileMode bits to a unix `st_mode` (type and permission bits). */
export function goToUnixMode(mode: number): number {
  let out = mode & 0o777
  if (mode & GoMode.Dir) out |= S_IFDIR
  else if (mode & GoMode.Symlink) out |= S_IFLNK
  else if (mode & GoMode.Device) out |= mode & GoMode.CharDevice ? S_IFCHR : S_IFBLK
  else if (mode & GoMode.NamedPipe) out |= S_IFIFO
  else if (mode & GoMode.Socket) out |= S_IFSOCK
  else out |= S_IFREG
  if (mode & GoMode.Setuid) out |= 0o4000
  if (mode & GoMode.Setgid) out |= 0o2000
  if (mode & GoMode.Sticky) out |= 0o1000
  return out
}

/** The permission bits including setuid, setgid and sticky, as `chmod` takes them. */
export function goToChmod(mode: number): number {
  return goToUnixMode(mode) & 0o7777
}

export type EntryKind = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'block' | 'char' | 'irregular'

/** What kind of entry Go FileMode bits describe. */
export function goModeKind(mode: number): EntryKind {
  if (mode & GoMode.Dir) return 'dir'
  if (mode & GoMode.Symlink) return 'symlink'
  if (mode & GoMode.Device) return mode & GoMode.CharDevice ? 'char' : 'block'
  if (mode & GoMode.NamedPipe) return 'fifo'
  if (mode & GoMode.Socket) return 'socket'
  if (mode & GoMode.Irregular) return 'irregular'
  return 'file'
}
