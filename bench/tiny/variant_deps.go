//go:build deps

package main

import _ "github.com/rightsize/rightsize/bench/internal/startexp/depsinit"
