"""Arrow schemas of the lake's datasets and the typed conversion of API records into them."""
