;; expect: common-lisp
(defun c:SA (/ s)
  (setq s (string-append "a" "b"))
  (princ s)
  (princ)
)
