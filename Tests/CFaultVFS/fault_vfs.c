// A SQLite VFS that drops unsynced writes at a power cut (see include/fault_vfs.h). Each file
// keeps its writes and truncations since the last sync in order, shared by every handle open on
// it (as the kernel's page cache is shared by every descriptor of a file); reads and sizes see
// them as the page cache would; xSync on any handle applies them to the real file and syncs it.
#include "fault_vfs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

typedef struct Pending {
    sqlite3_int64 offset;   // a write's offset, or a truncation's new size
    int amount;             // bytes written, or -1 for a truncation
    unsigned char *data;
    struct Pending *next;
} Pending;

/// One file's unsynced writes, shared by the handles open on it.
typedef struct Inode {
    char *name;             // NULL for a temporary file, which no other handle opens
    Pending *head, *tail;
    int openCount;
    struct Inode *next;
} Inode;

typedef struct FaultFile {
    sqlite3_file base;      // first, so SQLite's pointer is ours
    sqlite3_file *real;     // the default VFS's file, allocated right after this struct
    Inode *inode;
    int dead;               // opened before a power cut
    struct FaultFile *nextOpen, *previousOpen;
} FaultFile;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3_vfs vfs;
static sqlite3_vfs *underlying;
static FaultFile *openFiles;
static Inode *inodes;
static long writesUntilCut;
static int powerLost;
static long droppedBytes;

/// Forgets the file's pending writes; `lost` counts their bytes as dropped by a power cut.
static void forgetPending(Inode *inode, int lost) {
    for (Pending *pending = inode->head, *next; pending; pending = next) {
        next = pending->next;
        if (lost && pending->amount > 0) droppedBytes += pending->amount;
        free(pending->data);
        free(pending);
    }
    inode->head = inode->tail = NULL;
}

/// The inode of the file `name` (a new one for a temporary file), one more handle counted.
static Inode *openInode(const char *name) {
    for (Inode *inode = inodes; inode && name; inode = inode->next) {
        if (inode->name && strcmp(inode->name, name) == 0) {
            inode->openCount += 1;
            return inode;
        }
    }
    Inode *inode = calloc(1, sizeof(Inode));
    if (!inode) return NULL;
    if (name && !(inode->name = strdup(name))) { free(inode); return NULL; }
    inode->openCount = 1;
    inode->next = inodes;
    inodes = inode;
    return inode;
}

/// One handle fewer on `inode`; the last one frees it (its writes already applied or dropped).
static void closeInode(Inode *inode) {
    if (--inode->openCount > 0) return;
    for (Inode **link = &inodes; *link; link = &(*link)->next) {
        if (*link == inode) { *link = inode->next; break; }
    }
    free(inode->name);
    free(inode);
}

static void cutPower(void) {
    powerLost = 1;
    for (Inode *inode = inodes; inode; inode = inode->next) forgetPending(inode, 1);
    for (FaultFile *file = openFiles; file; file = file->nextOpen) file->dead = 1;
}

static int append(FaultFile *file, sqlite3_int64 offset, int amount, const void *data) {
    Pending *pending = calloc(1, sizeof(Pending));
    if (!pending) return SQLITE_NOMEM;
    if (amount > 0) {
        pending->data = malloc((size_t)amount);
        if (!pending->data) { free(pending); return SQLITE_NOMEM; }
        memcpy(pending->data, data, (size_t)amount);
    }
    pending->offset = offset;
    pending->amount = amount;
    Inode *inode = file->inode;
    if (inode->tail) inode->tail->next = pending; else inode->head = pending;
    inode->tail = pending;
    return SQLITE_OK;
}

static int effectiveSize(FaultFile *file, sqlite3_int64 *size) {
    int status = file->real->pMethods->xFileSize(file->real, size);
    if (status != SQLITE_OK) return status;
    for (Pending *pending = file->inode->head; pending; pending = pending->next) {
        if (pending->amount < 0) *size = pending->offset;
        else if (pending->offset + pending->amount > *size) *size = pending->offset + pending->amount;
    }
    return SQLITE_OK;
}

static int faultClose(sqlite3_file *handle) {
    FaultFile *file = (FaultFile *)handle;
    pthread_mutex_lock(&lock);
    // The last clean close leaves the unsynced writes in the "page cache": the real file, unsynced.
    if (file->inode->openCount == 1) {
        for (Pending *pending = file->inode->head; pending && !file->dead; pending = pending->next) {
            if (pending->amount < 0) file->real->pMethods->xTruncate(file->real, pending->offset);
            else file->real->pMethods->xWrite(file->real, pending->data, pending->amount, pending->offset);
        }
        forgetPending(file->inode, 0);
    }
    closeInode(file->inode);
    if (file->previousOpen) file->previousOpen->nextOpen = file->nextOpen; else openFiles = file->nextOpen;
    if (file->nextOpen) file->nextOpen->previousOpen = file->previousOpen;
    pthread_mutex_unlock(&lock);
    return file->real->pMethods->xClose(file->real);
}

static int faultRead(sqlite3_file *handle, void *buffer, int amount, sqlite3_int64 offset) {
    FaultFile *file = (FaultFile *)handle;
    pthread_mutex_lock(&lock);
    if (file->dead) { pthread_mutex_unlock(&lock); return SQLITE_IOERR_READ; }
    int status = file->real->pMethods->xRead(file->real, buffer, amount, offset);
    if (status != SQLITE_OK && status != SQLITE_IOERR_SHORT_READ) { pthread_mutex_unlock(&lock); return status; }
    unsigned char *bytes = buffer;
    for (Pending *pending = file->inode->head; pending; pending = pending->next) {
        if (pending->amount < 0) {
            if (pending->offset < offset + amount) {
                sqlite3_int64 from = pending->offset > offset ? pending->offset - offset : 0;
                memset(bytes + from, 0, (size_t)(amount - from));
            }
            continue;
        }
        sqlite3_int64 start = pending->offset > offset ? pending->offset : offset;
        sqlite3_int64 end = pending->offset + pending->amount < offset + amount ? pending->offset + pending->amount : offset + amount;
        if (start < end) memcpy(bytes + (start - offset), pending->data + (start - pending->offset), (size_t)(end - start));
    }
    sqlite3_int64 size = 0;
    status = effectiveSize(file, &size);
    pthread_mutex_unlock(&lock);
    if (status != SQLITE_OK) return status;
    if (offset + amount <= size) return SQLITE_OK;
    sqlite3_int64 valid = size > offset ? size - offset : 0;
    memset(bytes + valid, 0, (size_t)(amount - valid));
    return SQLITE_IOERR_SHORT_READ;
}

static int faultWrite(sqlite3_file *handle, const void *buffer, int amount, sqlite3_int64 offset) {
    FaultFile *file = (FaultFile *)handle;
    pthread_mutex_lock(&lock);
    if (!powerLost && writesUntilCut > 0 && --writesUntilCut == 0) cutPower();
    int status = file->dead ? SQLITE_IOERR_WRITE : append(file, offset, amount, buffer);
    pthread_mutex_unlock(&lock);
    return status;
}

static int faultTruncate(sqlite3_file *handle, sqlite3_int64 size) {
    FaultFile *file = (FaultFile *)handle;
    pthread_mutex_lock(&lock);
    int status = file->dead ? SQLITE_IOERR_TRUNCATE : append(file, size, -1, NULL);
    pthread_mutex_unlock(&lock);
    return status;
}

static int faultSync(sqlite3_file *handle, int flags) {
    FaultFile *file = (FaultFile *)handle;
    pthread_mutex_lock(&lock);
    int status = file->dead ? SQLITE_IOERR_FSYNC : SQLITE_OK;
    for (Pending *pending = file->inode->head; pending && status == SQLITE_OK; pending = pending->next) {
        status = pending->amount < 0 ? file->real->pMethods->xTruncate(file->real, pending->offset)
                                     : file->real->pMethods->xWrite(file->real, pending->data, pending->amount, pending->offset);
    }
    if (status == SQLITE_OK) forgetPending(file->inode, 0);
    pthread_mutex_unlock(&lock);
    return status == SQLITE_OK ? file->real->pMethods->xSync(file->real, flags) : status;
}

static int faultFileSize(sqlite3_file *handle, sqlite3_int64 *size) {
    FaultFile *file = (FaultFile *)handle;
    pthread_mutex_lock(&lock);
    int status = file->dead ? SQLITE_IOERR_FSTAT : effectiveSize(file, size);
    pthread_mutex_unlock(&lock);
    return status;
}

static int faultLock(sqlite3_file *handle, int level) { FaultFile *f = (FaultFile *)handle; return f->real->pMethods->xLock(f->real, level); }
static int faultUnlock(sqlite3_file *handle, int level) { FaultFile *f = (FaultFile *)handle; return f->real->pMethods->xUnlock(f->real, level); }
static int faultCheckReservedLock(sqlite3_file *handle, int *out) {
    FaultFile *f = (FaultFile *)handle;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}
static int faultFileControl(sqlite3_file *handle, int op, void *argument) {
    FaultFile *f = (FaultFile *)handle;
    // Size hints and chunking would grow the real file behind the overlay's back.
    if (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CHUNK_SIZE || op == SQLITE_FCNTL_MMAP_SIZE) return SQLITE_NOTFOUND;
    return f->real->pMethods->xFileControl(f->real, op, argument);
}
static int faultSectorSize(sqlite3_file *handle) { FaultFile *f = (FaultFile *)handle; return f->real->pMethods->xSectorSize(f->real); }
static int faultDeviceCharacteristics(sqlite3_file *handle) {
    FaultFile *f = (FaultFile *)handle;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}
static int faultShmMap(sqlite3_file *handle, int page, int size, int extend, void volatile **out) {
    FaultFile *f = (FaultFile *)handle;
    return f->real->pMethods->xShmMap(f->real, page, size, extend, out);
}
static int faultShmLock(sqlite3_file *handle, int offset, int count, int flags) {
    FaultFile *f = (FaultFile *)handle;
    return f->real->pMethods->xShmLock(f->real, offset, count, flags);
}
static void faultShmBarrier(sqlite3_file *handle) { FaultFile *f = (FaultFile *)handle; f->real->pMethods->xShmBarrier(f->real); }
static int faultShmUnmap(sqlite3_file *handle, int delete) { FaultFile *f = (FaultFile *)handle; return f->real->pMethods->xShmUnmap(f->real, delete); }
// No memory-mapped reads: they would bypass the overlay.
static int faultFetch(sqlite3_file *handle, sqlite3_int64 offset, int amount, void **out) {
    (void)handle; (void)offset; (void)amount;
    *out = NULL;
    return SQLITE_OK;
}
static int faultUnfetch(sqlite3_file *handle, sqlite3_int64 offset, void *pointer) { (void)handle; (void)offset; (void)pointer; return SQLITE_OK; }

static const sqlite3_io_methods methods = {
    3, faultClose, faultRead, faultWrite, faultTruncate, faultSync, faultFileSize, faultLock, faultUnlock,
    faultCheckReservedLock, faultFileControl, faultSectorSize, faultDeviceCharacteristics, faultShmMap, faultShmLock,
    faultShmBarrier, faultShmUnmap, faultFetch, faultUnfetch,
};

static int faultOpen(sqlite3_vfs *self, const char *name, sqlite3_file *handle, int flags, int *outFlags) {
    (void)self;
    FaultFile *file = (FaultFile *)handle;
    memset(file, 0, sizeof(FaultFile));
    file->real = (sqlite3_file *)(file + 1);
    int status = underlying->xOpen(underlying, name, file->real, flags, outFlags);
    if (status != SQLITE_OK) return status;
    pthread_mutex_lock(&lock);
    file->inode = openInode(name);
    if (!file->inode) {
        pthread_mutex_unlock(&lock);
        file->real->pMethods->xClose(file->real);
        return SQLITE_NOMEM;
    }
    file->dead = powerLost;
    file->nextOpen = openFiles;
    if (openFiles) openFiles->previousOpen = file;
    openFiles = file;
    pthread_mutex_unlock(&lock);
    handle->pMethods = &methods;
    return SQLITE_OK;
}

static int faultDelete(sqlite3_vfs *self, const char *name, int syncDirectory) { (void)self; return underlying->xDelete(underlying, name, syncDirectory); }
static int faultAccess(sqlite3_vfs *self, const char *name, int flags, int *out) { (void)self; return underlying->xAccess(underlying, name, flags, out); }
static int faultFullPathname(sqlite3_vfs *self, const char *name, int size, char *out) {
    (void)self;
    return underlying->xFullPathname(underlying, name, size, out);
}
static int faultRandomness(sqlite3_vfs *self, int size, char *out) { (void)self; return underlying->xRandomness(underlying, size, out); }
static int faultSleep(sqlite3_vfs *self, int microseconds) { (void)self; return underlying->xSleep(underlying, microseconds); }
static int faultCurrentTime(sqlite3_vfs *self, double *out) { (void)self; return underlying->xCurrentTime(underlying, out); }
static int faultGetLastError(sqlite3_vfs *self, int size, char *out) { (void)self; return underlying->xGetLastError(underlying, size, out); }
static int faultCurrentTimeInt64(sqlite3_vfs *self, sqlite3_int64 *out) { (void)self; return underlying->xCurrentTimeInt64(underlying, out); }

int haven_fault_vfs_register(void) {
    pthread_mutex_lock(&lock);
    if (underlying) { pthread_mutex_unlock(&lock); return SQLITE_OK; }
    underlying = sqlite3_vfs_find(NULL);
    if (!underlying) { pthread_mutex_unlock(&lock); return SQLITE_ERROR; }
    vfs.iVersion = 2;
    vfs.szOsFile = (int)sizeof(FaultFile) + underlying->szOsFile;
    vfs.mxPathname = underlying->mxPathname;
    vfs.zName = "haven-fault";
    vfs.xOpen = faultOpen;
    vfs.xDelete = faultDelete;
    vfs.xAccess = faultAccess;
    vfs.xFullPathname = faultFullPathname;
    vfs.xRandomness = faultRandomness;
    vfs.xSleep = faultSleep;
    vfs.xCurrentTime = faultCurrentTime;
    vfs.xGetLastError = faultGetLastError;
    vfs.xCurrentTimeInt64 = faultCurrentTimeInt64;
    pthread_mutex_unlock(&lock);
    return sqlite3_vfs_register(&vfs, 0);
}

void haven_fault_vfs_arm(long writes) {
    pthread_mutex_lock(&lock);
    writesUntilCut = writes;
    pthread_mutex_unlock(&lock);
}

int haven_fault_vfs_power_lost(void) {
    pthread_mutex_lock(&lock);
    int lost = powerLost;
    pthread_mutex_unlock(&lock);
    return lost;
}

long haven_fault_vfs_dropped_bytes(void) {
    pthread_mutex_lock(&lock);
    long bytes = droppedBytes;
    pthread_mutex_unlock(&lock);
    return bytes;
}

void haven_fault_vfs_reset(void) {
    pthread_mutex_lock(&lock);
    powerLost = 0;
    writesUntilCut = 0;
    droppedBytes = 0;
    pthread_mutex_unlock(&lock);
}
