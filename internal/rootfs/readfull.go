package rootfs

import "fmt"

// readFull reads the whole file from its current offset into buf, until a
// read returns 0 (a short read is not the end: a kernel seq_file hands out
// about a page of records per read). A file that fills buf and has more is
// refused with ErrTooLarge.
func (f File) readFull(buf []byte) (int, error) {
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
	}
}
