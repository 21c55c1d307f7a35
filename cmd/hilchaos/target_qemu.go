package main

import _ "github.com/hilchaos/hilchaos/targets/qemu" // the qemu:// scheme
