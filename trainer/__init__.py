"""Skin-lesion classifier trainer: HAM10000 in, TF.js model folder with manifest and report out."""
