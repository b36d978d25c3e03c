# Host-side packaging only: makes firmware/ package data of the brexit wheel, so the cells
# emulator finds cellfw/ from an installed wheel. Not copied to the Pico.
