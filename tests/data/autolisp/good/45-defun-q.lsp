;; Append to S::STARTUP without replacing what others put there.
(defun-q my-startup ()
  (setvar "OSMODE" 183)
  (princ "\nStartup settings applied.")
)
(setq S::STARTUP (append S::STARTUP my-startup))
(princ)
