;; expect: unknown-command
(defun c:CL ()
  (command "_.CIRLCE" pause 5.0)
  (princ)
)
