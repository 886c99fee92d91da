//go:build !linux

package journal

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// Only Linux is supported: Open fails elsewhere, so these are never called.

type stat struct {
	dev, ino uint64
	nlink    uint64
	size     int64
	ctime    time.Time
}

const supported = false

var (
	errUnsupported       = errors.ErrUnsupported
	errLoop        error = errors.ErrUnsupported
)

func (stat) regular() bool                                { return false }
func (stat) describes(fs.FileInfo) bool                   { return false }
func (stat) sameInode(fs.FileInfo) bool                   { return false }
func statAt(*os.File, string) (stat, error)               { return stat{}, errUnsupported }
func reserve(*os.File, int64, int64) error                { return errUnsupported }
func statFile(*os.File) (stat, error)                     { return stat{}, errUnsupported }
func linkAt(*os.File, string, *os.File, string) error     { return errUnsupported }
func renameAt(*os.File, string, string) error             { return errUnsupported }
func unlinkAt(*os.File, string) error                     { return errUnsupported }
func openRead(*os.File, string) (*os.File, error)         { return nil, errUnsupported }
func createExcl(*os.File, string) (*os.File, error)       { return nil, errUnsupported }
func openTemp(*os.File) (*os.File, error)                 { return nil, errUnsupported }
func openAppend(*os.File, string, bool) (*os.File, error) { return nil, errUnsupported }
func openRW(*os.File, string, bool) (*os.File, error)     { return nil, errUnsupported }
func datasync(*os.File) error                             { return errUnsupported }
func openDir(string) (*os.File, error)                    { return nil, errUnsupported }
func openLock(string) (*os.File, error)                   { return nil, errUnsupported }
func inMemory(*os.File) bool                              { return false }
func lockFile(*os.File) error                             { return errUnsupported }
func unlockFile(*os.File) error                           { return errUnsupported }
func readNames(*os.File) ([]string, error)                { return nil, errUnsupported }
func linkRefused(error) bool                              { return false }
func isExist(err error) bool                              { return errors.Is(err, fs.ErrExist) }
func isNotExist(err error) bool                           { return errors.Is(err, fs.ErrNotExist) }
