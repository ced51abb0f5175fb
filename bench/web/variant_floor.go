//go:build floor

package main

import _ "github.com/rightsize/rightsize/bench/internal/startexp/floorinit"
