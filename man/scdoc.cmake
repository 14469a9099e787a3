# cmake -DSCDOC=... -DIN=x.1.scd -DOUT=x.1 -DSIFT_SYSCONFDIR=... -DSIFT_DOCDIR=...
#       -P scdoc.cmake
# Fill in the install paths, run scdoc, and drop the empty paragraph macros
# scdoc emits next to headings and list ends (what `mandoc -T lint` warns
# about), so that the page lints clean.
get_filename_component(name ${OUT} NAME)
set(filled ${OUT}.scd)
configure_file(${IN} ${filled} @ONLY)
execute_process(COMMAND ${SCDOC} INPUT_FILE ${filled} OUTPUT_VARIABLE roff
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "scdoc failed on ${IN}")
endif()
# a date in the page from SOURCE_DATE_EPOCH (reproducible builds) is
# scdoc's own business; only the paragraph macros are touched here
set(prev "")
while(NOT prev STREQUAL roff)
  set(prev "${roff}")
  string(REPLACE "\n.P\n.RE\n" "\n.RE\n.P\n" roff "${roff}")
  string(REGEX REPLACE "\n\\.P\n(\\.(SH|SS|P|TH)[ \n])" "\n\\1" roff "${roff}")
  string(REGEX REPLACE "\n(\\.(SH|SS|TH)[^\n]*)\n\\.P\n" "\n\\1\n" roff "${roff}")
  string(REGEX REPLACE "\n\\.P\n$" "\n" roff "${roff}")
endwhile()
file(WRITE ${OUT} "${roff}")
