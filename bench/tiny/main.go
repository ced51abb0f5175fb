// Command tiny does nothing: the start-up experiment times whole-process
// start of this binary with and without a tuning library's blank import
// (build tags rightsize, automaxprocs, automemlimit; see svc for the same
// scheme).
package main

func main() {}
