package seal

// Shared reports how many stores share their cipher.
func Shared() int {
	n := 0
	shared.Range(func(any, any) bool { n++; return true })
	return n
}
