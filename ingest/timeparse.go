package ingest

import "time"

// parseTime parses the RFC 3339 timestamp b as weft.ParseTime does, without
// allocating: the shape every Graph and weft timestamp has
// (2006-01-02T15:04:05, up to nine fractional digits, then Z or ±hh:mm) is
// parsed here, and anything else goes to weft.ParseTime, which also words
// the errors.
func parseTime(path string, name, b []byte) (time.Time, *fieldErr) {
	if t, ok := parseTimeFast(b); ok {
		return t, nil
	}
	return timeVal(path, string(name), string(b))
}

func parseTimeFast(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	hour, ok4 := num(b[11:13])
	minute, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	if day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	rest := b[19:]
	nsec := 0
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 || i > 10 {
			return time.Time{}, false
		}
		frac, _ := num(rest[1:i])
		for d := i - 1; d < 9; d++ {
			frac *= 10
		}
		nsec, rest = frac, rest[i:]
	}
	offset := 0
	switch {
	case len(rest) == 1 && rest[0] == 'Z':
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(rest[1:3])
		om, ok2 := num(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31 - int((m-1)%7%2)
}

// slab hands out pointers to values of T from chunks of 32, so that the
// small structs an alert points to (times, accounts, file details) cost one
// allocation per chunk instead of one each. A kept alert pins at most a few
// chunks of a few kilobytes.
type slab[T any] []T

func (s *slab[T]) new() *T {
	if len(*s) == cap(*s) {
		*s = make([]T, 0, 32)
	}
	var zero T
	*s = append(*s, zero)
	return &(*s)[len(*s)-1]
}

// ptr returns a pointer to a copy of v.
func (s *slab[T]) ptr(v T) *T {
	p := s.new()
	*p = v
	return p
}
