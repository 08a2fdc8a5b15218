#!/usr/bin/env bash
# Placeholder: no model needs a data set yet; a later issue fills this in.
echo "no data sets are needed yet"
exit 0
