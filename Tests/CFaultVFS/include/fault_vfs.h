#ifndef HAVEN_FAULT_VFS_H
#define HAVEN_FAULT_VFS_H

/// A SQLite VFS for tests that loses power: it wraps the default VFS and holds every write in
/// memory until the file is synced, as a disk cache would. Once armed, the Nth write after that
/// cuts the power: every write not yet synced, in every open file, is dropped, and all further
/// I/O fails, as it would for a machine that stopped. Open a database with it through the URI
/// `file:<path>?vfs=haven-fault`.

/// Registers the VFS as "haven-fault" (once; later calls do nothing). Returns a SQLite status.
int haven_fault_vfs_register(void);

/// Cuts the power at the `writes`th write from now (0: never).
void haven_fault_vfs_arm(long writes);

/// Non-zero once the power was cut.
int haven_fault_vfs_power_lost(void);

/// Bytes of unsynced writes the power cut dropped.
long haven_fault_vfs_dropped_bytes(void);

/// Power back on, disarmed (files opened before the cut stay dead).
void haven_fault_vfs_reset(void);

#endif
