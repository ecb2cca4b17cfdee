;; expect: common-lisp
(defun c:UP (/ s)
  (setq s (getstring))
  (princ (string-upcase s))
  (princ)
)
