package inside

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"syscall"
)

// How the parent starts this process: argv[0] Name, Env=1 in the
// environment, and these files.
const (
	Name      = "warden-sandbox"
	Env       = "WARDEN_SANDBOX_CHILD"
	SpecFD    = 3 // the Spec, Encoded, until end of file
	ErrorFD   = 4 // "layer\x00message" when the set-up fails; closed by the exec
	RulesetFD = 5 // the Landlock ruleset the parent built, if it did
)

// Layers of a sandbox, named in Spec.Off and in errors.
const (
	LayerNamespaces = "namespaces" // user, mount, pid, ipc, uts and network namespaces, and the minimal root
	LayerLandlock   = "landlock"   // the same paths restated to the kernel
	LayerSeccomp    = "seccomp"    // the system-call filter and no_new_privs
	LayerLimits     = "limits"     // resource limits
	LayerStart      = "start"      // reading the spec, running the program
)

func init() {
	if v, ok := syscall.Getenv(Env); !ok || v != "1" || len(os.Args) == 0 || os.Args[0] != Name {
		return
	}
	main()
}

// main builds the sandbox inside the namespaces the parent created and
// executes the program. It never returns.
func main() {
	// The layers below are applied to this thread, which then runs the
	// program: execve keeps only the calling thread and its credentials.
	runtime.LockOSThread()
	errs := os.NewFile(ErrorFD, "sandbox errors")
	syscall.CloseOnExec(ErrorFD)
	fail := func(layer string, err error) {
		fmt.Fprintf(errs, "%s\x00%v", layer, err)
		os.Exit(127)
	}
	specFile := os.NewFile(SpecFD, "sandbox spec")
	data, err := io.ReadAll(io.LimitReader(specFile, 4<<20))
	if err != nil {
		fail(LayerStart, fmt.Errorf("read the sandbox spec: %w", err))
	}
	specFile.Close()
	spec, err := decodeSpec(data)
	if err != nil {
		fail(LayerStart, err)
	}

	if spec.Namespaces {
		if err := buildRoot(spec); err != nil {
			fail(LayerNamespaces, err)
		}
		if err := syscall.Sethostname([]byte(Name)); err != nil {
			fail(LayerNamespaces, fmt.Errorf("set the host name: %w", err))
		}
		if spec.Egress != 0 {
			if err := openEgress(spec.Egress); err != nil {
				fail(LayerNamespaces, err)
			}
		}
	}
	dir := spec.Dir
	if dir == "" {
		dir = "/"
	}
	if err := syscall.Chdir(dir); err != nil {
		fail(LayerStart, fmt.Errorf("working directory %s: %w", dir, err))
	}
	if !slices.Contains(spec.Off, LayerLimits) {
		for _, l := range spec.Rlimits {
			lim := syscall.Rlimit{Cur: l.Value, Max: l.Value}
			if l.Resource == syscall.RLIMIT_CPU {
				// SIGXCPU at the limit, SIGKILL a second later if ignored.
				lim.Max = min(l.Value+1, math.MaxUint64)
			}
			if err := syscall.Setrlimit(l.Resource, &lim); err != nil {
				fail(LayerLimits, fmt.Errorf("resource limit %d: %w", l.Resource, err))
			}
		}
	}
	// no_new_privs first: Landlock and seccomp need it without
	// CAP_SYS_ADMIN, and nothing the program runs may gain privilege.
	if err := prctl(prSetNoNewPrivs, 1); err != nil {
		fail(LayerSeccomp, fmt.Errorf("no_new_privs: %w", err))
	}
	if spec.LandlockRead != 0 {
		if err := restrict(spec); err != nil {
			fail(LayerLandlock, err)
		}
	}
	if len(spec.Filter) > 0 {
		if err := loadSeccomp(spec.Filter); err != nil {
			fail(LayerSeccomp, fmt.Errorf("load the filter: %w", err))
		}
	}
	// The program starts with no capability: its user is not root in the
	// namespace, and nothing is passed on as ambient.
	if err := prctl(prCapAmbient, prCapAmbientClearAll); err != nil {
		fail(LayerStart, fmt.Errorf("drop capabilities: %w", err))
	}
	// Only stdin, stdout and stderr reach the program. The runtime's own
	// files (its poller) stay open until the exec closes them.
	if err := closeFrom(ErrorFD + 1); err != nil {
		fail(LayerStart, fmt.Errorf("close inherited files: %w", err))
	}
	if spec.Program == "" {
		os.Exit(0) // a probe: every layer is up
	}
	err = syscall.Exec(spec.Program, spec.Argv, spec.Env)
	fail(LayerStart, fmt.Errorf("run %s: %w", spec.Program, err))
}
