#!/bin/sh
# The "program" the multi-node pipeline builds: it prints its version.
echo "app $1"
