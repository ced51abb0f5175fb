package rootfs

import "fmt"

// readFull reads the whole file from its current offset into buf. seq
// says a short read is the end (a live kernel file). A file that fills buf
// and has more is refused with ErrTooLarge.
func (f File) readFull(buf []byte, seq bool) (int, error) {
	n := 0
	for {
		if n == len(buf) {
			var one [1]byte
			m, err := f.read(one[:])
			if err != nil {
				return 0, fmt.Errorf("read: %w", err)
			}
			if m == 0 {
				return n, nil
			}
			return 0, tooLarge(int64(len(buf)))
		}
		m, err := f.read(buf[n:])
		if err != nil {
			return 0, fmt.Errorf("read: %w", err)
		}
		if m == 0 {
			return n, nil
		}
		n += m
		if seq && n < len(buf) {
			return n, nil
		}
	}
}
