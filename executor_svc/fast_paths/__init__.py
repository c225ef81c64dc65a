"""Result strategies that skip the data cube (chosen by the compiler, see `ResultStrategy`): the
image Sentinel Hub renders itself, and Sentinel Hub's TIFF turned into the COG directly."""
