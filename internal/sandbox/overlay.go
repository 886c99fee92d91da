package sandbox

// The directories a caller makes in a Path's Scratch: the overlay's upper
// directory, where the program's changes land, and its work directory.
// The same names as package inside's.
const (
	ScratchUpper = "upper"
	ScratchWork  = "work"
)
