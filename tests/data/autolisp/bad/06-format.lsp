;; expect: common-lisp
(defun c:SHOWLEN (/ d)
  (setq d (getdist "\nDistance: "))
  (princ (format nil "Length: ~a" d))
  (princ)
)
