package inside

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestConstants: the kernel ABI values this package spells out itself
// (see sys_linux.go) are the ones golang.org/x/sys/unix has.
func TestConstants(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"SYS_OPEN_TREE", sysOpenTree, unix.SYS_OPEN_TREE},
		{"SYS_MOVE_MOUNT", sysMoveMount, unix.SYS_MOVE_MOUNT},
		{"SYS_FSOPEN", sysFsopen, unix.SYS_FSOPEN},
		{"SYS_FSCONFIG", sysFsconfig, unix.SYS_FSCONFIG},
		{"SYS_FSMOUNT", sysFsmount, unix.SYS_FSMOUNT},
		{"SYS_CLOSE_RANGE", sysCloseRange, unix.SYS_CLOSE_RANGE},
		{"SYS_MOUNT_SETATTR", sysMountSetattr, unix.SYS_MOUNT_SETATTR},
		{"SYS_LANDLOCK_ADD_RULE", sysLandlockAddRule, unix.SYS_LANDLOCK_ADD_RULE},
		{"SYS_LANDLOCK_RESTRICT_SELF", sysLandlockRestrictSelf, unix.SYS_LANDLOCK_RESTRICT_SELF},
		{"SYS_SECCOMP", sysSeccomp, unix.SYS_SECCOMP},
		{"OPEN_TREE_CLONE", openTreeClone, unix.OPEN_TREE_CLONE},
		{"OPEN_TREE_CLOEXEC", openTreeCloexec, unix.OPEN_TREE_CLOEXEC},
		{"AT_RECURSIVE", atRecursive, unix.AT_RECURSIVE},
		{"AT_EMPTY_PATH", atEmptyPath, unix.AT_EMPTY_PATH},
		{"AT_SYMLINK_NOFOLLOW", atSymlinkNofollow, unix.AT_SYMLINK_NOFOLLOW},
		{"MOVE_MOUNT_F_EMPTY_PATH", moveMountFEmptyPath, unix.MOVE_MOUNT_F_EMPTY_PATH},
		{"FSOPEN_CLOEXEC", fsopenCloexec, unix.FSOPEN_CLOEXEC},
		{"FSMOUNT_CLOEXEC", fsmountCloexec, unix.FSMOUNT_CLOEXEC},
		{"FSCONFIG_SET_STRING", fsconfigSetString, unix.FSCONFIG_SET_STRING},
		{"FSCONFIG_CMD_CREATE", fsconfigCmdCreate, unix.FSCONFIG_CMD_CREATE},
		{"CLOSE_RANGE_CLOEXEC", closeRangeCloexec, unix.CLOSE_RANGE_CLOEXEC},
		{"O_PATH", oPath, unix.O_PATH},
		{"MOUNT_ATTR_RDONLY", mountAttrRdonly, unix.MOUNT_ATTR_RDONLY},
		{"MOUNT_ATTR_NOSUID", mountAttrNosuid, unix.MOUNT_ATTR_NOSUID},
		{"MOUNT_ATTR_NODEV", mountAttrNodev, unix.MOUNT_ATTR_NODEV},
		{"MOUNT_ATTR_NOEXEC", mountAttrNoexec, unix.MOUNT_ATTR_NOEXEC},
		{"PR_SET_NO_NEW_PRIVS", prSetNoNewPrivs, unix.PR_SET_NO_NEW_PRIVS},
		{"PR_CAP_AMBIENT", prCapAmbient, unix.PR_CAP_AMBIENT},
		{"PR_CAP_AMBIENT_CLEAR_ALL", prCapAmbientClearAll, unix.PR_CAP_AMBIENT_CLEAR_ALL},
		{"SECCOMP_SET_MODE_FILTER", seccompSetModeFilter, unix.SECCOMP_SET_MODE_FILTER},
		{"LANDLOCK_RULE_PATH_BENEATH", landlockRulePathBeneath, unix.LANDLOCK_RULE_PATH_BENEATH},
		{"RLIMIT_NPROC", rlimitNproc, unix.RLIMIT_NPROC},
		{"sizeof(mount_attr)", uint64(unsafeSizeofMountAttr), uint64(unsafe.Sizeof(unix.MountAttr{}))},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, x/sys/unix says %#x", c.name, c.got, c.want)
		}
	}
}
