#!/bin/sh
echo "cli golden: not yet"
