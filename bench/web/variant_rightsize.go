//go:build rightsize

package main

import _ "github.com/rightsize/rightsize"
