package sandbox

// SwitchOff switches layers off for the rest of a test, so that it can
// prove the others stop an escape alone.
func SwitchOff(t interface{ Cleanup(func()) }, layers ...string) {
	old := layersOff
	layersOff = layers
	t.Cleanup(func() { layersOff = old })
}
