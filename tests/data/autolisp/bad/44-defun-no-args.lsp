;; expect: bad-defun
(defun c:NOARGS
  (princ "\nhello")
  (princ)
)
