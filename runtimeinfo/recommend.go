package runtimeinfo

// Recommend reads the limits as Tune does and returns what Tune would
// decide from them with the same options, changing nothing: every
// Decision has Changed false, Value the setting in force in this process,
// and Want what the policy computes (also where Tune would leave the
// setting alone; the Reason says why). The error is Read's.
func Recommend(opts ...Option) (Result, error) {
	r, err := NewReader(opts...)
	if err != nil {
		return Result{}, err
	}
	defer r.Close()
	var res Result
	err = r.Read(&res.Snapshot)
	res.GOMAXPROCS, res.GOMEMLIMIT = r.Recommend(&res.Snapshot)
	return res, err
}

// Recommend returns what Tune would decide from s (a snapshot this Reader
// took) with the Reader's options, changing nothing.
func (r *Reader) Recommend(s *Snapshot) (procs, mem Decision) {
	owner.mu.Lock()
	st := state()
	owner.mu.Unlock()
	p := decide(&r.cfg, s, r.env, st)
	return p.procs.d, p.mem.d
}
