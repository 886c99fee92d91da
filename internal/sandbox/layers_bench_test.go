package sandbox

import (
	"context"
	"strings"
	"testing"
)

// BenchmarkLayers is what each layer adds to a sandbox's start, /bin/true
// with layers switched off in turn:
//
//	go test -run x -bench Layers ./internal/sandbox/
func BenchmarkLayers(b *testing.B) {
	for _, off := range [][]string{nil, {LayerSeccomp}, {LayerLandlock}, {LayerNamespaces}, {LayerNamespaces, LayerLandlock, LayerSeccomp}} {
		name := "all"
		if len(off) > 0 {
			name = "without-" + strings.Join(off, "-")
		}
		b.Run(name, func(b *testing.B) {
			layersOff = off
			defer func() { layersOff = nil }()
			for b.Loop() {
				if _, err := Run(context.Background(), Command{Program: "/bin/true"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
