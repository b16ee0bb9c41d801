#!/bin/sh
echo working-directory
