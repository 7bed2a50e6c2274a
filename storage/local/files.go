package local

import (
	"container/list"
	"os"
	"sync"
)

// fileCache keeps at most max segment files open, closing the least recently
// used idle one when it needs room, so that thousands of logs do not need
// thousands of descriptors. Files are opened read-write; writers and readers
// share one descriptor (pwrite and pread do not move a shared offset).
//
// A file in use (acquired and not yet released) is never closed; the cache
// may briefly exceed max when more files than that are in use at once.
type fileCache struct {
	max int

	mu    sync.Mutex
	files map[string]*cachedFile
	lru   list.List // of *cachedFile, idle ones only, most recent at front
}

type cachedFile struct {
	path string
	f    *os.File
	refs int
	elem *list.Element // in lru while refs == 0
}

func newFileCache(max int) *fileCache {
	return &fileCache{max: max, files: make(map[string]*cachedFile)}
}

// acquire returns the open file at path, creating it if create is set. The
// caller must call release exactly once.
func (c *fileCache) acquire(path string, create bool) (*os.File, func(), error) {
	c.mu.Lock()
	cf, ok := c.files[path]
	if !ok {
		c.evictLocked(c.max - 1)
		// Opening under the lock keeps the map and the descriptor count
		// exact; opens are rare next to reads, so the lock is not hot.
		flag := os.O_RDWR
		if create {
			flag |= os.O_CREATE
		}
		f, err := os.OpenFile(path, flag, 0o644)
		if err != nil {
			c.mu.Unlock()
			return nil, nil, err
		}
		cf = &cachedFile{path: path, f: f}
		c.files[path] = cf
	}
	if cf.elem != nil {
		c.lru.Remove(cf.elem)
		cf.elem = nil
	}
	cf.refs++
	c.mu.Unlock()
	return cf.f, func() { c.release(cf) }, nil
}

func (c *fileCache) release(cf *cachedFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cf.refs--
	if cf.refs > 0 {
		return
	}
	if c.files[cf.path] != cf {
		// Forgotten while in use: close it now that nobody holds it.
		cf.f.Close()
		return
	}
	cf.elem = c.lru.PushFront(cf)
	c.evictLocked(c.max)
}

// evictLocked closes idle files until at most keep are open.
func (c *fileCache) evictLocked(keep int) {
	for len(c.files) > keep {
		back := c.lru.Back()
		if back == nil {
			return
		}
		cf := back.Value.(*cachedFile)
		c.lru.Remove(back)
		delete(c.files, cf.path)
		cf.f.Close()
	}
}

// forget closes path's descriptor (at once if idle, else on release), before
// the file is removed or truncated by someone else.
func (c *fileCache) forget(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cf, ok := c.files[path]
	if !ok {
		return
	}
	delete(c.files, path)
	if cf.refs == 0 {
		c.lru.Remove(cf.elem)
		cf.f.Close()
	}
}

// open reports how many descriptors the cache holds.
func (c *fileCache) open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.files)
}

func (c *fileCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for path, cf := range c.files {
		delete(c.files, path)
		if cf.elem != nil {
			c.lru.Remove(cf.elem)
		}
		if cf.refs == 0 {
			cf.f.Close()
		}
	}
}
