(defun c:ABOUTME ()
  (alert "Drawing tools
Version 2.1
Type ABOUTME to see this again.")
  (princ)
)
