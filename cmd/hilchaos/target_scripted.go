package main

// The scripted:// scheme: the reference model behind a filter that makes it
// misbehave (lost frames, ignored commands, wrong reset reasons), to try the
// harness and `hilchaos conform` on a board that is wrong on purpose.
import _ "github.com/hilchaos/hilchaos/targets/scripted"
