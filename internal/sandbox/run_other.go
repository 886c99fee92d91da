//go:build !linux

package sandbox

import "context"

// Run needs Linux: elsewhere it runs nothing.
func Run(ctx context.Context, c Command) (Result, error) {
	return Result{}, ErrUnsupported
}
